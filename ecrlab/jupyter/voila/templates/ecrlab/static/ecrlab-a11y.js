// What ipywidgets cannot say from Python, added to the `ecrlab app` page (WCAG 2.1 AA):
// - a field whose inline error is showing gets aria-invalid and aria-describedby pointing at the error,
//   so a screen reader reads the rule with the field (SpecForm puts `ecrlab-field-NAME` / `ecrlab-error-NAME`);
// - a form's result box is a polite live region, so "Planned…", "Applied…" and failures are announced;
// - a box that scrolls (a wide plan table at phone width) can take keyboard focus, so it can be scrolled
//   without a mouse, and says what it holds.
(() => {
  let pending = false;

  function controlOf(field) {
    if (!field) return null;
    return field.matches("input, textarea, select") ? field : field.querySelector("input, textarea, select");
  }

  function describeErrors() {
    let serial = 0;
    for (const error of document.querySelectorAll(".ecrlab-error")) {
      const name = [...error.classList].find((c) => c.startsWith("ecrlab-error-"))?.slice("ecrlab-error-".length);
      const form = error.closest(".ecrlab-form");
      const control = name && form ? controlOf(form.querySelector(`.ecrlab-field-${name}`)) : null;
      if (!control) continue;
      if (!error.id) error.id = `ecrlab-error-${name}-${Date.now().toString(36)}-${serial++}`;
      if (error.textContent.trim()) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", error.id);
      } else {
        control.removeAttribute("aria-invalid");
        if (control.getAttribute("aria-describedby") === error.id) control.removeAttribute("aria-describedby");
      }
    }
  }

  function liveRegions() {
    for (const result of document.querySelectorAll(".ecrlab-result, .ecrlab-ptc-outcome, .ecrlab-resolution")) {
      if (!result.hasAttribute("role")) {
        result.setAttribute("role", "status");
        result.setAttribute("aria-live", "polite");
      }
    }
  }

  function scrollable(element) {
    const style = getComputedStyle(element);
    const scrolls = (overflow) => overflow === "auto" || overflow === "scroll";
    return (
      (scrolls(style.overflowX) && element.scrollWidth > element.clientWidth + 1) ||
      (scrolls(style.overflowY) && element.scrollHeight > element.clientHeight + 1)
    );
  }

  function focusableScrollBoxes() {
    const boxes = document.querySelectorAll(
      "#rendered_cells, .ecrlab-panel .widget-html-content, .jp-OutputArea-output, .jp-RenderedHTMLCommon, " +
        ".jp-RenderedText, pre"
    );
    for (const box of boxes) {
      if (scrollable(box)) {
        if (!box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.classList.add("ecrlab-scroll");
          if (!box.hasAttribute("role")) box.setAttribute("role", "region");
          const heading =
            box.id === "rendered_cells" ? "Lesson" : box.closest(".ecrlab-result") ? "Plan and result" : "Output";
          if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", `${heading} (scrolls)`);
        }
      } else if (box.classList.contains("ecrlab-scroll")) {
        box.classList.remove("ecrlab-scroll");
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }

  function update() {
    pending = false;
    describeErrors();
    liveRegions();
    focusableScrollBoxes();
  }

  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(update);
    }
  }

  new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true, characterData: true });
  window.addEventListener("resize", schedule);
  schedule();
})();
