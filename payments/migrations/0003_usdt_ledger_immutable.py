"""SPEC §12: PostgreSQL rejects TRUNCATE on the USDT ledger (UPDATE/DELETE already were)."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0002_ton_transfer_cursor'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='usdtentry',
            trigger=pgtrigger.compiler.Trigger(name='usdt_entry_no_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='d34c297b180ad92a9141ba83e525b3801ae0fed6', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_usdt_entry_no_truncate_e11bd', table='payments_usdtentry', when='BEFORE')),
        ),
    ]
