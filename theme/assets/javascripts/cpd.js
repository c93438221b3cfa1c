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
 * for a recording reader one read of their latest entry on the topic (to link its reflection).
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

  /* A topic already in the reader's log gets a link beside "Report a problem" (at the foot of
     the topic, so nothing above it moves) to the reflection form: the same form, versions and
     conflict handling as on /account/cpd. */
  async function offerReflection() {
    const foot = document.querySelector(".topic-report");
    if (!foot || !window.fetch) return;
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
    const link = document.createElement("a");
    link.href = entry.reflect_url;
    link.dataset.cpdReflect = "";
    link.textContent = entry.claimed ? "Edit your CPD reflection" : "Reflect on this topic for CPD";
    foot.append(" · ", link);
  }

  document.addEventListener("reader-state", (event) => {
    recording = Boolean(event.detail && event.detail.cpd);
    if (recording) offerReflection();
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
