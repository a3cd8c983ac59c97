"""Every page on a 390 px phone and in the dark colour scheme (issue 16):

* at 390x844 the page never scrolls sideways (a wide table scrolls inside its
  own box), nothing is cut off at the right edge, the KPI texts are whole
  and every link of the top bar is on screen;
* with ``prefers-color-scheme: dark`` the page is dark and every visible text
  has a WCAG contrast of 4.5:1 against what is behind it (3:1 for large
  text), the charts' text too: Chart.js takes its colours from the CSS.

Screenshots of each page in both schemes go to test-artifacts/."""
from __future__ import annotations

import re

import pytest
from django.utils import timezone

from benchmarks.poll_speed import fill
from tests.conftest import study_data
from tests.e2e.conftest import Page

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

#: WCAG 2 relative luminance and contrast, and the page's colours as the
#: reader sees them: a colour with alpha is blended over what lies behind it
CONTRAST_JS = """
(() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g); if (!m) return [0, 0, 0, 0];
    return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
  const over = (top, under) => { const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1); };
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {      // the colours behind el, blended from the page up
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement)
      layers.push(parse(getComputedStyle(n).backgroundColor));
    let bg = parse(getComputedStyle(document.documentElement).backgroundColor);
    if (bg[3] === 0) bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  return { parse, over, lum, ratio, background };
})()
"""

TEXT_CONTRAST_JS = """
() => {
  const c = %s;
  const faded = (el) => {
    for (let n = el; n; n = n.parentElement) if (+getComputedStyle(n).opacity < 1) return true;
    return false;
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!own || !r.width || !r.height || el.closest("[hidden], option, script, style, canvas")) continue;
    const s = getComputedStyle(el);
    if (s.visibility !== "visible" || el.disabled || el.closest("[aria-disabled=true]") || faded(el)) continue;
    const bg = c.background(el), fg = c.over(c.parse(s.color), bg);
    const size = parseFloat(s.fontSize), bold = +s.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const ratio = c.ratio(fg, bg);
    if (ratio < need) low.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}": ` +
                              `${ratio.toFixed(2)} (${s.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
  }
  return low;
}
""" % CONTRAST_JS

LAYOUT_JS = """
() => {
  const width = window.innerWidth;
  const out = { scrollWidth: document.documentElement.scrollWidth, cut: [], clipped: [], offscreen: [] };
  const scrolls = (n) => ["auto", "scroll"].includes(getComputedStyle(n).overflowX);
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= width + 1 || el.closest("[hidden], dialog:not([open])")) continue;
    let inside = false;
    for (let n = el.parentElement; n && n !== document.body; n = n.parentElement)
      if (scrolls(n)) { inside = true; break; }
    if (!inside) out.cut.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${Math.round(r.right)}`);
  }
  for (const el of document.querySelectorAll(".kpi strong, .kpi small, .kpi .label")) {
    if (el.getBoundingClientRect().width && el.scrollWidth > el.clientWidth)
      out.clipped.push(`${el.id || el.className} "${el.textContent}" ${el.scrollWidth} > ${el.clientWidth}`);
  }
  for (const el of document.querySelectorAll(".topbar a, .topbar button")) {
    const r = el.getBoundingClientRect();
    if (getComputedStyle(el).visibility === "visible" && r.width && (r.left < -1 || r.right > width + 1))
      out.offscreen.push(`${el.textContent.trim()} ${Math.round(r.left)}-${Math.round(r.right)}`);
  }
  return out;
}
"""


@pytest.fixture
def pages(user, trainers, run_burst):
    """A finished ASHA study with a long name (charts, KPIs, the ASHA board
    filled), a finished Bayesian one (its panel of charts), a trial, a worker and an API token, a draft
    (its edit page), a running study, trials and studies compared: every page has what a user's page
    has. Returns {name: path}."""
    from runner.models import Worker
    from studies import control
    from studies.models import ApiToken
    from studies.validation import validate_study

    cleaned, errors = validate_study(study_data(name="resnet-50 on the imagenet subset, lr x batch size x optimizer",
                                                start=True), set(trainers))
    assert not errors, errors
    study = control.create(user, cleaned)
    cleaned, errors = validate_study(study_data(name="bayes", search_alg="bayes_opt", num_trials=5, num_init_trial=3,
                                                start=True), set(trainers))
    assert not errors, errors
    bayes = control.create(user, cleaned)
    run_burst()
    for s in (study, bayes):
        s.refresh_from_db()
        assert s.state == "completed", s.error
    Worker.objects.create(name="gpu-host-with-a-long-name:0+1:7", host="gpu-host-with-a-long-name", gpu="0,1",
                          queues=["hpopt-quick"],
                          device="GPU 0 (NVIDIA A100, 40960 MiB); GPU 1 (NVIDIA A100, 40960 MiB)")
    ApiToken.issue(user, name="CI on the build host")
    # a draft (its edit page) and a study that runs: four of its trials finished, three running
    cleaned, errors = validate_study(study_data(name="a draft of a sweep with a long name to wrap"), set(trainers))
    assert not errors, errors
    draft = control.create(user, cleaned)
    cleaned, errors = validate_study(study_data(name="running sweep", num_trials=20), set(trainers))
    assert not errors, errors
    running = control.create(user, cleaned)
    running.state, running.started = "running", timezone.now()
    running.save(update_fields=["state", "started"])
    fill(running, 7, running=3, seed=3)
    return {"list": "/", "new": "/studies/new/", "study": f"/studies/{study.pk}/", "bayes": f"/studies/{bayes.pk}/",
            "trial": f"/trials/{study.best_trial().pk}/", "workers": "/workers/", "tokens": "/tokens/",
            "running": f"/studies/{running.pk}/", "edit": f"/studies/{draft.pk}/edit/",
            "compare-trials": f"/studies/{study.pk}/compare/?trials=0,1,2",
            "compare-studies": f"/compare/?studies={study.pk},{bayes.pk}"}


@pytest.fixture
def open_page(browser, live_server):
    """open_page(viewport, scheme) -> a logged-out Page in a context of its own."""
    contexts, wrapped = [], []

    def open_(viewport, scheme):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        context.set_default_timeout(15_000)
        contexts.append(context)
        wrapped.append(Page(context.new_page(), live_server.url))
        return wrapped[-1]

    yield open_
    for context in contexts:
        context.close()
    errors = [e for p in wrapped for e in p.errors if "status of 4" not in e]
    assert not errors, f"JavaScript errors: {errors}"


def visit(page, path):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if re.fullmatch(r"/studies/\d+/", path):
        page.wait_for_function("document.getElementById('kpi-best').textContent !== '—'")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_a_390px_phone(open_page, pages, scheme):
    page = open_page(PHONE, scheme)
    found = {}
    visit(page, "/login/")
    found["login"] = page.evaluate(LAYOUT_JS)
    page.screenshot(f"phone-{scheme}-login")
    page.login("erin")
    for name, path in pages.items():
        visit(page, path)
        found[name] = page.evaluate(LAYOUT_JS)
        page.screenshot(f"phone-{scheme}-{name}")
    problems = [f"{name}: page {f['scrollWidth']} px wide; cut off: {f['cut']}; KPI text clipped: {f['clipped']}; "
                f"top bar off screen: {f['offscreen']}" for name, f in found.items()
                if f["scrollWidth"] > PHONE["width"] or f["cut"] or f["clipped"] or f["offscreen"]]
    assert not problems, "\n".join(problems)


CHART_JS = """
(id) => {
  const c = %s;
  const chart = Chart.getChart(id), canvas = document.getElementById(id);
  const card = c.background(canvas), css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  const rgb = (color) => {     // any CSS colour as [r, g, b, 1], through a canvas
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.fillStyle = color;
    ctx.fillRect(0, 0, 1, 1);
    return [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3), 1];
  };
  const tick = chart.scales.x.options.ticks.color, title = chart.scales.y.options.title.color;
  const line = chart.data.datasets[0].borderColor;
  return { tick, title, line, cssText: css("--chart-text"), cssAccent: css("--chart-accent"),
           defaults: Chart.defaults.color,
           tickRatio: c.ratio(rgb(tick), card), titleRatio: c.ratio(rgb(title), card),
           lineRatio: c.ratio(rgb(Array.isArray(line) ? line[0] : line), card) };
}
""" % CONTRAST_JS

BODY_JS = "() => { const c = %s; return c.lum(c.background(document.body)); }" % CONTRAST_JS


def test_every_page_is_dark_and_readable_in_the_dark_scheme(open_page, pages):
    page = open_page(DESKTOP, "dark")
    low, found = {}, {}
    visit(page, "/login/")
    found["login"] = (page.evaluate(BODY_JS), page.evaluate(TEXT_CONTRAST_JS))
    page.screenshot("dark-login")
    page.login("erin")
    for name, path in pages.items():
        visit(page, path)
        found[name] = (page.evaluate(BODY_JS), page.evaluate(TEXT_CONTRAST_JS))
        page.screenshot(f"dark-{name}")
        # at desktop width too, no KPI text is cut ("measured over 24 epochs of 6 trials" wraps)
        assert not page.evaluate(LAYOUT_JS)["clipped"], name
    for name, (luminance, texts) in found.items():
        assert luminance < 0.02, f"{name}: the page behind the text is not dark (luminance {luminance:.3f})"
        if texts:
            low[name] = texts
    assert not low, "text below WCAG contrast:\n" + "\n".join(f"{n}: {t}" for n, ts in low.items() for t in ts)

    # the charts draw with the scheme's colours, read from the CSS
    visit(page, pages["study"])
    for chart_id in ("chart-best", "chart-curves"):
        chart = page.evaluate(CHART_JS, chart_id)
        assert chart["tick"] == chart["title"] == chart["defaults"] == chart["cssText"], chart
        assert chart["tickRatio"] >= 4.5, chart
        assert chart["lineRatio"] >= 3, chart     # a line is a graphic: WCAG's 3:1
    assert page.evaluate(CHART_JS, "chart-best")["line"] == page.evaluate(CHART_JS, "chart-best")["cssAccent"]
    visit(page, pages["trial"])
    chart = page.evaluate(CHART_JS, "chart-scores")
    assert chart["tickRatio"] >= 4.5 and chart["lineRatio"] >= 3, chart


def test_the_charts_follow_a_switch_of_the_scheme(open_page, pages):
    page = open_page(DESKTOP, "light")
    page.login("erin")
    visit(page, pages["study"])
    light = page.evaluate(CHART_JS, "chart-best")
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("Chart.getChart('chart-best') && Chart.defaults.color !== %r" % light["defaults"])
    dark = page.evaluate(CHART_JS, "chart-best")
    assert (light["line"], light["tick"]) == ("#4f46e5", "#475569")   # the light look as it was
    assert dark["line"] == dark["cssAccent"] != light["line"]
    assert dark["tick"] == dark["cssText"] != light["tick"]
    assert dark["tickRatio"] >= 4.5

    # the compare page's studies too: their swatches and lines at the scheme's lightness
    page.emulate_media(color_scheme="light")
    visit(page, pages["compare-studies"])
    swatch = "() => getComputedStyle(document.querySelector('#compare-studies .swatch')).color"
    line = "() => Chart.getChart('chart-by-time').data.datasets[0].borderColor"
    light_swatch, light_line = page.evaluate(swatch), page.evaluate(line)
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("%s !== %r" % (swatch, light_swatch))
    assert page.evaluate(line) != light_line and page.evaluate(line).endswith("65%)")
