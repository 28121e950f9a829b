"""Running a management command in a test the way an operator sees it."""

from io import StringIO

from django.core.management import CommandError, call_command


def run_command(name: str, *args) -> tuple[int, str]:
    """(exit code, output) of `manage.py name *args`; a CommandError becomes its exit code."""
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()
