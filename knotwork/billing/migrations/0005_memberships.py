# Memberships: plans, clients' memberships, billed periods and the credits ledger (docs/money.md).

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_user_language'),
        ('billing', '0004_card_on_file_and_fees'),
        ('bookings', '0009_service_deposits'),
        ('clients', '0007_client_referral_source'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='invoiceline',
            name='kind',
            field=models.CharField(choices=[('service', 'Service'), ('addon', 'Add-on'), ('product', 'Product'), ('package', 'Package'), ('gift_card', 'Gift card'), ('other', 'Other'), ('fee', 'Cancellation or no-show fee'), ('membership', 'Membership fee')], default='service', max_length=10),
        ),
        migrations.AlterField(
            model_name='payment',
            name='method',
            field=models.CharField(choices=[('cash', 'Cash'), ('card_terminal', 'Card (terminal)'), ('bank_transfer', 'Bank transfer'), ('cheque', 'Cheque'), ('store_credit', 'Store credit'), ('card_online', 'Card (online)'), ('other', 'Other'), ('gift_card', 'Gift card'), ('package', 'Package session'), ('membership', 'Membership credit')], max_length=16),
        ),
        migrations.CreateModel(
            name='ClientMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('price', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))])),
                ('currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code such as GBP.')])),
                ('period_count', models.PositiveSmallIntegerField(default=1, help_text='Billed every this many months or weeks.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(52)])),
                ('period_unit', models.CharField(choices=[('month', 'Months'), ('week', 'Weeks')], default='month', max_length=5)),
                ('credits_per_period', models.PositiveSmallIntegerField(default=0, help_text='Sessions included in each paid period.', validators=[django.core.validators.MaxValueValidator(100)])),
                ('pricing', models.CharField(choices=[('none', 'No member price'), ('percent', 'A percentage off the price'), ('price', 'A fixed member price')], default='none', max_length=8)),
                ('pricing_value', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text="A percentage (0–100) off, or the member price in the clinic's currency.", max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('rollover', models.BooleanField(default=False, help_text='Unused credits carry over to the next period while the membership lasts.')),
                ('minimum_periods', models.PositiveSmallIntegerField(default=0, help_text='The minimum term, in periods; 0: cancel any time.', validators=[django.core.validators.MaxValueValidator(60)])),
                ('max_pause_days', models.PositiveSmallIntegerField(default=90, help_text='The longest pause allowed, in days; 0: no pauses.', validators=[django.core.validators.MaxValueValidator(365)])),
                ('status', models.CharField(choices=[('pending', 'Waiting for the first payment'), ('active', 'Active'), ('past_due', 'Payment overdue'), ('paused', 'Paused'), ('cancelled', 'Cancelled')], default='pending', max_length=9)),
                ('started_on', models.DateField()),
                ('anchor_day', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(31)])),
                ('current_period_start', models.DateField(blank=True, null=True)),
                ('current_period_end', models.DateField(blank=True, help_text='The day the next period starts.', null=True)),
                ('next_billing_on', models.DateField(blank=True, null=True)),
                ('minimum_term_ends_on', models.DateField(blank=True, null=True)),
                ('credits_left', models.PositiveSmallIntegerField(default=0)),
                ('cancel_at_period_end', models.BooleanField(default=False)),
                ('cancel_reason', models.CharField(blank=True, max_length=300)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('ended_on', models.DateField(blank=True, null=True)),
                ('paused_from', models.DateField(blank=True, null=True)),
                ('paused_until', models.DateField(blank=True, null=True)),
                ('pause_reason', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('client', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='memberships', to='clients.client')),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.clinic')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('credit_services', models.ManyToManyField(blank=True, help_text='The services a credit pays for.', related_name='+', to='bookings.service')),
                ('priced_services', models.ManyToManyField(blank=True, help_text='The services the member price applies to; none chosen: every service.', related_name='+', to='bookings.service')),
                ('tax_rate', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='billing.taxrate')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='MembershipPeriod',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('start', models.DateField()),
                ('end', models.DateField(help_text='The day the next period starts.')),
                ('status', models.CharField(choices=[('due', 'Being charged to the saved card'), ('at_desk', 'To be paid at the desk'), ('charging', 'Card payment under way'), ('failed', 'Card charge failed'), ('no_card', 'No card saved'), ('paid', 'Paid'), ('void', 'Cancelled unpaid')], default='due', max_length=8)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('charge_key', models.CharField(blank=True, max_length=200)),
                ('intent_id', models.CharField(blank=True, max_length=255)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('problem', models.CharField(blank=True, help_text='What the desk should know; never card details.', max_length=300)),
                ('paid_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.clinic')),
                ('invoice', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='membership_period', to='billing.invoice')),
                ('membership', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='periods', to='billing.clientmembership')),
            ],
            options={
                'ordering': ['-start', '-id'],
            },
        ),
        migrations.CreateModel(
            name='MembershipEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('grant', 'Credits granted (period paid)'), ('use', 'Credit used'), ('restore', 'Credit given back'), ('expire', 'Credits ended')], max_length=8)),
                ('credits', models.SmallIntegerField()),
                ('note', models.CharField(blank=True, max_length=200)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.clinic')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('invoice_line', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='membership_entries', to='billing.invoiceline')),
                ('membership', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='billing.clientmembership')),
                ('payment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='membership_entries', to='billing.payment')),
                ('period', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='billing.membershipperiod')),
            ],
            options={
                'verbose_name_plural': 'membership entries',
                'ordering': ['at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='MembershipPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('price', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))])),
                ('currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code such as GBP.')])),
                ('period_count', models.PositiveSmallIntegerField(default=1, help_text='Billed every this many months or weeks.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(52)])),
                ('period_unit', models.CharField(choices=[('month', 'Months'), ('week', 'Weeks')], default='month', max_length=5)),
                ('credits_per_period', models.PositiveSmallIntegerField(default=0, help_text='Sessions included in each paid period.', validators=[django.core.validators.MaxValueValidator(100)])),
                ('pricing', models.CharField(choices=[('none', 'No member price'), ('percent', 'A percentage off the price'), ('price', 'A fixed member price')], default='none', max_length=8)),
                ('pricing_value', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text="A percentage (0–100) off, or the member price in the clinic's currency.", max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('rollover', models.BooleanField(default=False, help_text='Unused credits carry over to the next period while the membership lasts.')),
                ('minimum_periods', models.PositiveSmallIntegerField(default=0, help_text='The minimum term, in periods; 0: cancel any time.', validators=[django.core.validators.MaxValueValidator(60)])),
                ('max_pause_days', models.PositiveSmallIntegerField(default=90, help_text='The longest pause allowed, in days; 0: no pauses.', validators=[django.core.validators.MaxValueValidator(365)])),
                ('is_active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.clinic')),
                ('credit_services', models.ManyToManyField(blank=True, help_text='The services a credit pays for.', related_name='+', to='bookings.service')),
                ('priced_services', models.ManyToManyField(blank=True, help_text='The services the member price applies to; none chosen: every service.', related_name='+', to='bookings.service')),
                ('tax_rate', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='billing.taxrate')),
            ],
            options={
                'ordering': ['-is_active', 'name'],
            },
        ),
        migrations.AddField(
            model_name='clientmembership',
            name='plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='members', to='billing.membershipplan'),
        ),
        migrations.AddIndex(
            model_name='membershipperiod',
            index=models.Index(fields=['clinic', 'status'], name='billing_mperiod_status_idx'),
        ),
        migrations.AddConstraint(
            model_name='membershipperiod',
            constraint=models.UniqueConstraint(fields=('membership', 'start'), name='billing_membership_period_once'),
        ),
        migrations.AddConstraint(
            model_name='membershipperiod',
            constraint=models.CheckConstraint(condition=models.Q(('end__gt', models.F('start'))), name='billing_membership_period_range'),
        ),
        migrations.AddConstraint(
            model_name='membershipentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'grant'), ('credits__gt', 0)), models.Q(('credits', -1), ('kind', 'use')), models.Q(('credits', 1), ('kind', 'restore')), models.Q(('kind', 'expire'), ('credits__lt', 0)), _connector='OR'), name='billing_membership_entry_sign'),
        ),
        migrations.AddConstraint(
            model_name='membershipentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['use', 'restore']), _negated=True), ('payment__isnull', False), _connector='OR'), name='billing_membership_entry_names_payment'),
        ),
        migrations.AddConstraint(
            model_name='membershipentry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'grant')), fields=('period',), name='billing_membership_granted_once'),
        ),
        migrations.AddConstraint(
            model_name='membershipentry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ['use', 'restore'])), fields=('payment', 'kind'), name='billing_membership_entry_once_per_payment'),
        ),
        migrations.AddConstraint(
            model_name='membershipplan',
            constraint=models.UniqueConstraint(fields=('clinic', 'name'), name='billing_membership_plan_name_unique'),
        ),
        migrations.AddConstraint(
            model_name='membershipplan',
            constraint=models.CheckConstraint(condition=models.Q(('price__gt', 0)), name='billing_membership_plan_price_positive'),
        ),
        migrations.AddConstraint(
            model_name='membershipplan',
            constraint=models.CheckConstraint(condition=models.Q(('period_count__gte', 1), ('period_count__lte', 52)), name='billing_membership_plan_period'),
        ),
        migrations.AddConstraint(
            model_name='membershipplan',
            constraint=models.CheckConstraint(condition=models.Q(('pricing_value__gte', 0), models.Q(models.Q(('pricing', 'percent'), _negated=True), ('pricing_value__lte', 100), _connector='OR')), name='billing_membership_plan_pricing_range'),
        ),
        migrations.AddConstraint(
            model_name='membershipplan',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='billing_membership_plan_currency_iso'),
        ),
        migrations.AddIndex(
            model_name='clientmembership',
            index=models.Index(fields=['clinic', 'status'], name='billing_membership_status_idx'),
        ),
        migrations.AddIndex(
            model_name='clientmembership',
            index=models.Index(fields=['status', 'next_billing_on'], name='billing_membership_due_idx'),
        ),
        migrations.AddConstraint(
            model_name='clientmembership',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['pending', 'active', 'past_due', 'paused'])), fields=('client',), name='billing_one_live_membership'),
        ),
        migrations.AddConstraint(
            model_name='clientmembership',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('paused_from__isnull', True), ('paused_until__isnull', True)), models.Q(('paused_from__isnull', False), ('paused_until__gt', models.F('paused_from')), ('paused_until__isnull', False)), _connector='OR'), name='billing_membership_pause_range'),
        ),
        migrations.AddConstraint(
            model_name='clientmembership',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'cancelled'), _negated=True), ('ended_on__isnull', False), _connector='OR'), name='billing_membership_cancelled_ended'),
        ),
        migrations.AddConstraint(
            model_name='clientmembership',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='billing_client_membership_currency_iso'),
        ),
    ]
