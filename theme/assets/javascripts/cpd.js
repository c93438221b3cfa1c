/* CPD reading time: how long this topic has been in front, for a reader who records CPD.
 *
 * notes.js reads who is reading (GET /api/reader/<page id>) and tells the page with a
 * "reader-state" event; only when its `cpd` is true does this script report anything. Time
 * counts while the page is visible (document.visibilityState): a tab in the background, a
 * minimised window or a locked phone adds nothing. When the page is hidden or left
 * (visibilitychange, pagehide) one beacon goes to /api/cpd/beacon with this view's total so far,
 * by navigator.sendBeacon, which the browser delivers even while the page unloads. The server
 * credits only what is new, never more than real time and the cap; without JavaScript nothing
 * is recorded. No timer runs: the only cost is one small request when the page is hidden, and
 * for a recording reader one read of their latest entry on the topic (to offer its reflection
 * in the notes panel, reflect.js, and link its page at the foot).
 */
(() => {
  "use strict";

  const slot = document.querySelector("[data-notes-slot]");
  if (!slot || !navigator.sendBeacon || !window.crypto || !crypto.getRandomValues) return;
  const page = slot.dataset.pageId || "";
  // A random id for this view: the server counts each view's total once.
  const view = Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (byte) => byte.toString(16).padStart(2, "0")).join("");
  let recording = false; // until notes.js says this reader records CPD
  let total = 0; // seconds in front so far
  let sent = 0; // the total last reported
  let since = document.visibilityState === "visible" ? performance.now() : null;

  function pause() {
    if (since !== null) {
      total += (performance.now() - since) / 1000;
      since = null;
    }
  }
  function resume() {
    if (since === null && document.visibilityState === "visible") since = performance.now();
  }
  function report() {
    const seconds = Math.floor(total);
    if (!recording || seconds <= sent) return;
    sent = seconds;
    navigator.sendBeacon("/api/cpd/beacon", JSON.stringify({ page, view, seconds }));
  }

  /* A topic already in the reader's log gets, in the notes panel's heading row, a button that
     opens its reflection form inline (reflect.js: drafts, versions and conflicts as notes have
     them), and a link beside "Report a problem" (at the foot of the topic, so nothing above it
     moves) to the same form on its own page, /account/cpd/reflect. */
  async function offerReflection(panel) {
    const foot = document.querySelector(".topic-report");
    if (!window.fetch) return;
    let data = null;
    try {
      const response = await fetch("/api/cpd/entries/" + encodeURIComponent(page),
        { credentials: "same-origin" });
      if (response.ok) data = await response.json();
    } catch (error) {
      return; // no link rather than an error: the log page offers the same
    }
    const entry = data && data.entry;
    if (!entry || typeof entry.reflect_url !== "string" ||
        !entry.reflect_url.startsWith("/account/cpd/reflect?")) return;
    if (foot) {
      const link = document.createElement("a");
      link.href = entry.reflect_url;
      link.dataset.cpdReflect = "";
      link.textContent = entry.claimed ? "Edit your CPD reflection" : "Reflect on this topic for CPD";
      foot.append(" · ", link);
    }
    if (panel && panel.extras && window.cpdReflect) panelForm(panel, entry);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* The form as the reflection page has it (account_cpd_reflect.html), built here. */
  function reflectionForm(entry) {
    const form = el("form", "cpd-reflect cpd-reflect--panel");
    form.id = "cpd-reflect-panel";
    form.noValidate = true;
    form.hidden = true;
    form.dataset.pageId = entry.page_id;
    form.dataset.day = entry.day;
    form.dataset.draftKey = entry.draft_key;
    const r = entry.reflection || {};
    const heading = el("h3", "page-notes__label", "Reflect on this topic for CPD");
    heading.id = "cpd-reflect-panel-title";
    form.setAttribute("aria-labelledby", heading.id);
    form.append(heading);
    const version = el("input");
    version.type = "hidden";
    version.name = "version";
    version.value = Number.isInteger(r.version) ? String(r.version) : "";
    form.append(version);
    const fields = [
      ["learned", "What did you learn?", 4],
      ["change", "How will it change your practice? (optional)", 3],
      ["further", "Any further learning you need? (optional)", 3],
    ];
    for (const [name, label, rows] of fields) {
      const area = el("textarea", "page-notes__input cpd-reflect__input");
      area.id = "cpd-panel-" + name;
      area.name = name;
      area.rows = rows;
      area.maxLength = 2000;
      area.defaultValue = typeof r[name] === "string" ? r[name] : "";
      const labelNode = el("label", "page-notes__label", label);
      labelNode.htmlFor = area.id;
      form.append(labelNode, area);
    }
    const actions = el("p", "page-notes__actions cpd-reflect__actions");
    const save = el("button", "page-notes__button page-notes__button--primary", "Save reflection");
    save.type = "submit";
    const whole = el("a", "", "Open the reflection page");
    whole.href = entry.reflect_url;
    actions.append(save, whole);
    form.append(actions, el("p", "page-notes__status cpd-reflect__status"));
    form.lastChild.setAttribute("role", "status");
    return form;
  }

  function panelForm(panel, entry) {
    const form = reflectionForm(entry);
    const toggle = el("button", "page-notes__button");
    toggle.type = "button";
    toggle.dataset.cpdPanel = "";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", form.id);
    // "Reflect for CPD" / "CPD reflection"; "CPD" on a phone, where the heading row is full.
    const label = (claimed) => {
      if (claimed) toggle.replaceChildren("CPD", el("span", "page-notes__title-rest", " reflection"));
      else toggle.replaceChildren(el("span", "page-notes__title-rest", "Reflect for "), "CPD");
    };
    label(entry.claimed);
    toggle.addEventListener("click", () => {
      form.hidden = !form.hidden;
      toggle.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) form.elements.namedItem("learned").focus();
    });
    panel.extras.append(toggle);
    panel.panel.classList.add("page-notes--cpd");
    // Below the notes, above the panel's status line; shown only when asked for.
    panel.panel.insertBefore(form, panel.status);
    const draftWaiting = window.cpdReflect(form, () => {
      label(true);
      const foot = document.querySelector("a[data-cpd-reflect]");
      if (foot) foot.textContent = "Edit your CPD reflection";
    });
    // A draft left on an earlier visit: open the form, where reflect.js offers it back.
    if (draftWaiting) {
      form.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
    }
  }

  document.addEventListener("reader-state", (event) => {
    recording = Boolean(event.detail && event.detail.cpd);
    if (recording) offerReflection(event.detail);
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      pause();
      report();
    } else {
      resume();
    }
  });
  window.addEventListener("pagehide", () => {
    pause();
    report();
  });
  // Back from the back-forward cache: the same view goes on counting.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) resume();
  });
})();
