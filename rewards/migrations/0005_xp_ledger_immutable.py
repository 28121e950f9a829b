"""SPEC §12: PostgreSQL rejects UPDATE, DELETE and TRUNCATE on the XP ledger (rewards_xpentry)."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0004_level_reached'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='xpentry',
            trigger=pgtrigger.compiler.Trigger(name='xp_entry_no_update', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;", hash='afac6b73517f92882b4b2abd46e45daf4fca13e9', operation='UPDATE', pgid='pgtrigger_xp_entry_no_update_cde3f', table='rewards_xpentry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='xpentry',
            trigger=pgtrigger.compiler.Trigger(name='xp_entry_no_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;", hash='eddce68c11329b2d6dbd39ac3e12a1edea7caa8a', operation='DELETE', pgid='pgtrigger_xp_entry_no_delete_7ba0d', table='rewards_xpentry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='xpentry',
            trigger=pgtrigger.compiler.Trigger(name='xp_entry_no_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='5e37f95e0aa3d3e4c888dfdd1fc91a0933f1eb70', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_xp_entry_no_truncate_b1d8c', table='rewards_xpentry', when='BEFORE')),
        ),
    ]
