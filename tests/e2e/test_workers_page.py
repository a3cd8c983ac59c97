"""The Workers page shows each worker's GPUs as it found them, and the
trainers it does not offer with why (issue 17)."""
from playwright.sync_api import expect


def test_the_workers_page_shows_devices_and_the_trainers_a_worker_leaves_out(page, user):
    from runner.models import Worker

    Worker.objects.create(name="gpu-host:0+1:7", host="gpu-host", gpu="0,1", queues=["hpopt-quick"],
                          device="GPU 0 (NVIDIA A100, 40960 MiB); GPU 1 (NVIDIA A100, 40960 MiB)",
                          skipped={"digits": "runs on the CPU only and this worker owns GPUs"})
    Worker.objects.create(name="cpu-host:cpu:8", host="cpu-host", queues=["hpopt-quick"],
                          skipped={"torch-digits": "needs torch, not installed here"},
                          import_errors={"mypkg.trainers": "ModuleNotFoundError: No module named 'mypkg'"})
    page.login("erin")
    page.goto("/workers/")
    gpu_row = page.locator('#workers tbody tr:has-text("gpu-host:0+1:7")')
    expect(gpu_row).to_contain_text("GPU 0 (NVIDIA A100, 40960 MiB); GPU 1 (NVIDIA A100, 40960 MiB)")
    expect(gpu_row).to_contain_text("not offered: digits (runs on the CPU only and this worker owns GPUs)")
    cpu_row = page.locator('#workers tbody tr:has-text("cpu-host:cpu:8")')
    expect(cpu_row).to_contain_text("not offered: torch-digits (needs torch, not installed here)")
    expect(cpu_row).to_contain_text("could not import mypkg.trainers: ModuleNotFoundError")
    page.screenshot("13-workers-devices")
