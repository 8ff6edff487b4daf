# Video rooms, their two seats and signalling messages (knotwork/video/models.py).

import django.db.models.deletion
import knotwork.video.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_invitation_and_membership_links'),
        ('bookings', '0007_group_sessions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='VideoRoom',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('room_id', models.CharField(default=knotwork.video.models.new_room_id, editable=False, max_length=40, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('appointment', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='video_room', to='bookings.appointment')),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.clinic')),
            ],
        ),
        migrations.CreateModel(
            name='Signal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sender', models.CharField(choices=[('therapist', 'Therapist'), ('client', 'Client')], max_length=10)),
                ('kind', models.CharField(choices=[('offer', 'Offer'), ('answer', 'Answer'), ('candidate', 'ICE candidate'), ('bye', 'Hang-up')], max_length=10)),
                ('payload', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('room', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signals', to='video.videoroom')),
            ],
            options={
                'ordering': ['id'],
                'indexes': [models.Index(fields=['room', 'sender', 'id'], name='video_signal_room_idx')],
            },
        ),
        migrations.CreateModel(
            name='Participant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seat', models.CharField(choices=[('therapist', 'Therapist'), ('client', 'Client')], max_length=10)),
                ('state', models.CharField(choices=[('waiting', 'Waiting to be let in'), ('admitted', 'In the call'), ('left', 'Left')], max_length=10)),
                ('joined_at', models.DateTimeField()),
                ('admitted_at', models.DateTimeField(blank=True, null=True)),
                ('left_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('room', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='participants', to='video.videoroom')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('room', 'seat'), name='video_one_participant_per_seat')],
            },
        ),
    ]
