/* A CPD reflection form, kept and saved as notes are: the reflection page's form
 * (/account/cpd/reflect, account_cpd_reflect.html) and the one cpd.js puts in a topic's panel.
 *
 * window.cpdReflect(form, onSaved) takes a <form data-cpd-reflect data-page-id data-day
 * data-draft-key> with textareas named learned, change and further, a hidden "version" (the
 * version the text on show was saved as; empty for none) and a .cpd-reflect__status element:
 * - unsaved text is a draft in this browser under data-draft-key (one per reader and entry,
 *   drafts.js, as notes keep theirs), offered back on the next visit, cleared on save;
 * - saving is PUT /api/cpd/reflections/<day>/<page id> with that version, so a reflection
 *   changed elsewhere since is never overwritten unseen (409: the saved one is shown above the
 *   reader's text, which a second save puts in its place, as the page does without JavaScript);
 * - onSaved(reflection) is called after a save.
 * It returns whether a draft from an earlier visit is on offer (above the form).
 * Without JavaScript the reflection page's form posts as it is; nothing is kept as a draft.
 * Text only ever goes in as text nodes or form values.
 */
(function () {
  "use strict";

  const FIELDS = ["learned", "change", "further"];
  const LIMIT = 2000;
  const LABELS = {
    learned: "What I learned",
    change: "How it changes my practice",
    further: "Further learning",
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function count(text) {
    return [...text].length; // code points, as the server counts
  }

  function problem(status, data) {
    if (status === 401) return "You are signed out. Sign in again in another tab, then save again.";
    const detail = data && data.detail;
    if (typeof detail === "string") return "Not saved: " + detail;
    if (Array.isArray(detail) && detail[0] && typeof detail[0].msg === "string") {
      return "Not saved: " + detail[0].msg.replace(/^Value error, /, "") + ".";
    }
    return "Something went wrong (" + status + "). Please save again.";
  }

  window.cpdReflect = function (form, onSaved) {
    if (!window.fetch || !window.textDraft || "enhanced" in form.dataset) return false;
    form.dataset.enhanced = "";
    const areas = FIELDS.map((name) => form.elements.namedItem(name));
    const version = form.elements.namedItem("version");
    const status = form.querySelector(".cpd-reflect__status");
    const api = "/api/cpd/reflections/" + encodeURIComponent(form.dataset.day || "") + "/" +
      encodeURIComponent(form.dataset.pageId || "");
    const drafts = window.textDraft(form.dataset.draftKey || "cpd-draft:", (draft) =>
      FIELDS.every((name) => typeof draft[name] === "string") &&
      FIELDS.some((name) => draft[name].trim() !== "") &&
      (draft.version === null || Number.isInteger(draft.version)));
    const values = () => Object.fromEntries(FIELDS.map((name, i) => [name, areas[i].value]));
    const same = (a, b) => FIELDS.every((name) => a[name] === b[name]);
    const blank = (v) => FIELDS.every((name) => v[name].trim() === "");
    const base = () => (/^\d+$/.test(version.value) ? Number(version.value) : null);
    // The reflection as saved on the server (what the form opened with, before any restore).
    let saved = Object.fromEntries(FIELDS.map((name, i) => [name, areas[i].defaultValue]));
    let busy = false;
    let notice = null; // the draft offer or the conflict, above the form

    function say(message, isError) {
      if (!status) return;
      status.textContent = message || "";
      status.classList.toggle("cpd-reflect__status--error", Boolean(isError));
    }

    function showAbove(node) {
      if (notice) notice.remove();
      notice = node;
      if (node) form.before(node);
    }

    form.addEventListener("input", () => {
      const now = values();
      if (!blank(now) && !same(now, saved)) drafts.keep({ ...now, version: base() });
      else drafts.drop();
    });
    window.warnBeforeLeaving(() => form.isConnected && !same(values(), saved) && !blank(values()));

    /* A draft left unsaved on an earlier visit: offered back, never applied unasked. */
    const draft = drafts.read();
    let offered = false;
    if (draft && same(draft, saved)) {
      drafts.drop();
    } else if (draft && !same(draft, values())) {
      const offer = el("div", "cpd-reflect__draft");
      offer.setAttribute("role", "group");
      offer.setAttribute("aria-label", "Unsaved draft");
      const restore = el("button", "md-button md-button--primary", "Restore draft");
      const discard = el("button", "md-button", "Discard draft");
      for (const button of [restore, discard]) button.type = "button";
      restore.addEventListener("click", () => {
        FIELDS.forEach((name, i) => {
          areas[i].value = draft[name];
        });
        showAbove(null);
        areas[0].focus();
        say("Draft restored: save it to keep it.");
      });
      discard.addEventListener("click", () => {
        drafts.drop();
        showAbove(null);
        say("Draft discarded.");
      });
      offer.append(el("p", "", "You have an unsaved draft of this reflection."), restore, " ",
        discard);
      showAbove(offer);
      offered = true;
    }

    /* Saved elsewhere since this form opened: the saved reflection above, the reader's text
       kept in the form; saving again replaces the saved one with it. */
    function conflict(current) {
      const box = el("div", "cpd-saved");
      box.append(el("p", "cpd-reflect__alert",
        "This reflection was changed in another tab or on another device after you opened it. " +
        "Your text below is not saved yet: save it to replace the one shown, or go back."));
      if (current) {
        box.append(el("h2", "", "The reflection saved now"));
        for (const name of FIELDS) {
          if (typeof current[name] === "string" && current[name]) {
            const line = el("p", "cpd-reflection");
            line.append(el("strong", "", LABELS[name] + ": "), current[name]);
            box.append(line);
          }
        }
        version.value = String(current.version);
        saved = Object.fromEntries(FIELDS.map((name) => [name, String(current[name] || "")]));
      } else {
        box.append(el("p", "", "The saved reflection has been deleted."));
        version.value = "";
        saved = { learned: "", change: "", further: "" };
      }
      showAbove(box);
      drafts.keep({ ...values(), version: base() });
      say("Not saved: this reflection was changed elsewhere.", true);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      const body = values();
      if (!body.learned.trim()) {
        say("Say what you learned first.", true);
        areas[0].focus();
        return;
      }
      const over = FIELDS.findIndex((name) => count(body[name]) > LIMIT);
      if (over >= 0) {
        say("Each answer is at most 2,000 characters: shorten it, then save.", true);
        areas[over].focus();
        return;
      }
      busy = true;
      say("Saving…");
      let response;
      let data = null;
      try {
        response = await fetch(api, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" }, // writes are taken only as JSON
          body: JSON.stringify({ ...body, version: base() }),
        });
        try {
          data = await response.json();
        } catch (error) {
          data = null;
        }
      } catch (error) {
        say("Not saved: the site could not be reached. Check your connection and save again.", true);
        return;
      } finally {
        busy = false;
      }
      if ((response.status === 200 || response.status === 201) && data) {
        version.value = String(data.version);
        saved = body;
        drafts.drop();
        showAbove(null);
        say("Reflection saved: the entry is claimed.");
        if (onSaved) onSaved(data);
      } else if (response.status === 409) {
        conflict(data ? data.current : null);
      } else {
        say(problem(response.status, data), true);
      }
    });
    return offered;
  };

  /* The reflection page's form: after a save, back to the log, which says so. */
  for (const form of document.querySelectorAll("form[data-cpd-reflect]")) {
    window.cpdReflect(form, () => {
      const done = form.dataset.done || "";
      if (done.startsWith("/account/cpd")) location.assign(done);
    });
  }
})();
