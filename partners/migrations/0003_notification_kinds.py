# Notification.kind becomes a typed choice (partners.models.Notification.Kind); stored values unchanged.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0002_staff_login_attempts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(
                choices=[
                    ('referral_l1', 'Referral L1'),
                    ('referral_l2', 'Referral L2'),
                    ('referral_deep', 'Referral Deep'),
                    ('level_up', 'Level Up'),
                    ('badge_earned', 'Badge Earned'),
                    ('commission_received', 'Commission'),
                    ('commission_reversed', 'Commission Reversed'),
                    ('pro_activated', 'Pro Activated'),
                    ('payment_approved', 'Payment Approved'),
                    ('payment_rejected', 'Payment Rejected'),
                    ('payment_under_review', 'Payment Under Review'),
                    ('task_reward', 'Task Reward'),
                    ('pro_expiring', 'Pro Expiring'),
                    ('pro_expired', 'Pro Expired'),
                    ('streak_at_risk', 'Streak At Risk'),
                    ('payout_approved', 'Payout Approved'),
                    ('payout_rejected', 'Payout Rejected'),
                ],
                db_index=True,
                max_length=48,
            ),
        ),
    ]
