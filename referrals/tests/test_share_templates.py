"""Share templates: the seed, the variable language, and staff edits in admin."""

import pytest
from django.core.exceptions import ValidationError

from referrals.models import SHARE_PLATFORMS, ShareTemplate
from referrals.share_templates import TemplateError, template_render, template_validate

VALUES = {
    "name": "Ada",
    "link": "https://p2phub.example/r/P2P-7F3A9C21",
    "earnings": None,
    "referrals": "3",
    "community": None,
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru"])
def test_seed_has_at_least_20_templates_per_language_covering_every_tone_and_platform(language):
    templates = ShareTemplate.objects.filter(language=language, is_active=True)
    assert templates.count() >= 20
    assert set(templates.values_list("tone", flat=True)) == set(ShareTemplate.Tone.values)
    assert set(templates.values_list("platform", flat=True)) >= {platform.value for platform in SHARE_PLATFORMS}
    for template in templates:
        template.full_clean()  # every seeded body is valid
        assert "{link}" in template.body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Join me {linkk}", "Unknown variable {linkk}: use only {name}, {link}, {earnings}, {referrals}, {community}."),
        ("Hi {NAME} {link}", "Unknown variable {NAME}"),
        ("Hi {name.__class__} {link}", "Unknown variable {name.__class__}"),
        ("Hi {} {link}", "Unknown variable {}"),
        ("Hi { {link}", "A brace { or } is not part of a variable"),
        ("Hi } {link}", "A brace { or } is not part of a variable"),
        ("I earned {earnings}! {link}", "{earnings} must be inside an optional part in [square brackets]"),
        ("[a [b {referrals}]] {link}", "cannot be nested"),
        ("[Members: {community}. {link}", "is never closed"),
        ("Members] {link}", "has no opening ["),
        ("   ", "The message is empty."),
    ],
)
def test_malformed_templates_are_refused_with_a_clear_message(body, message):
    with pytest.raises(TemplateError, match=None) as error:
        template_validate(body)
    assert message in str(error.value)


def test_optional_part_is_dropped_when_its_figure_is_zero_or_unknown():
    body = "Hi, {name} here. [I earned {earnings}.] [Partners via me: {referrals}.] Join: {link}"
    assert (
        template_render(body, VALUES) == "Hi, Ada here. Partners via me: 3. Join: https://p2phub.example/r/P2P-7F3A9C21"
    )
    assert (
        template_render(body, {**VALUES, "referrals": None})
        == "Hi, Ada here. Join: https://p2phub.example/r/P2P-7F3A9C21"
    )
    assert (
        template_render(body, {**VALUES, "earnings": "17.16 USDT"})
        == "Hi, Ada here. I earned 17.16 USDT. Partners via me: 3. Join: https://p2phub.example/r/P2P-7F3A9C21"
    )


def test_new_lines_are_kept():
    assert template_render("Hello,\n\n[Earned: {earnings}.]\nJoin: {link}", VALUES) == (
        "Hello,\n\nJoin: https://p2phub.example/r/P2P-7F3A9C21"
    )


@pytest.mark.django_db
def test_model_clean_puts_the_message_on_the_body_field():
    template = ShareTemplate(language="en", tone="casual", title="t", body="Hey {friend}! {link}")
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert error.value.message_dict["body"] == [
        "Unknown variable {friend}: use only {name}, {link}, {earnings}, {referrals}, {community}."
    ]


@pytest.fixture
def admin_client_(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="pw-long-enough-123")
    client.force_login(admin)
    return client


def _form(template, **changes):
    data = {
        "language": template.language,
        "platform": template.platform,
        "tone": template.tone,
        "title": template.title,
        "body": template.body,
        "is_active": "on",
        "sort_order": template.sort_order,
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_admin_refuses_an_unknown_variable_and_saves_a_valid_edit(admin_client_):
    template = ShareTemplate.objects.filter(language="en").first()
    url = f"/admin/referrals/sharetemplate/{template.pk}/change/"
    response = admin_client_.post(url, _form(template, body="Join {nme}: {link}"))
    assert response.status_code == 200
    assert "Unknown variable {nme}" in response.content.decode()
    template.refresh_from_db()
    assert "{nme}" not in template.body

    response = admin_client_.post(url, _form(template, body="Come along, [we are {community} members.] {link}"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body == "Come along, [we are {community} members.] {link}"


@pytest.mark.django_db
def test_admin_lists_and_adds_templates(admin_client_):
    assert admin_client_.get("/admin/referrals/sharetemplate/").status_code == 200
    template = ShareTemplate(
        language="ru", platform="sms", tone="urgency", title="Новый", body="Скорее: {link}", sort_order=5
    )
    response = admin_client_.post("/admin/referrals/sharetemplate/add/", _form(template))
    assert response.status_code == 302
    assert ShareTemplate.objects.filter(title="Новый", language="ru").exists()
