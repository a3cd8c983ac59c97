from django.contrib import admin

from runner.models import Trainer, Worker


@admin.register(Trainer)
class TrainerAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "device", "last_seen")


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("name", "host", "gpu", "device", "state", "current_trial", "last_seen")
    list_filter = ("state", "host")
