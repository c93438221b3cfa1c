/* "My notes for this page": the signed-in reader's own note at the top of a topic.
 *
 * The page HTML is the same for every visitor, so one request after load decides what the
 * reserved panel shows: GET /api/reader/<page id> → 200 {signed_in, note, saved}: an invitation
 * to sign in, an empty panel with "Add a note", or the note; always 200, so nothing goes to the
 * browser console. The note is never part of the page HTML.
 * That request is started early by a <link rel="preload"> in the page's head (main.html).
 *
 * Safety: every node is built with createElement/textContent; nothing is parsed as HTML. The
 * only attribute ever set from note text is an href, and only after webHref() or telHref()
 * made it an http(s) URL (parsed by URL) or "tel:" followed by digits and "+".
 */
(() => {
  "use strict";

  const slot = document.querySelector("[data-notes-slot]");
  if (!slot || !window.fetch || !slot.replaceChildren || !window.textDraft) {
    if (slot) slot.hidden = true; // an old browser: no notes rather than an empty box
    return;
  }

  const LIMIT = 2000;
  const api = "/api/notes/" + encodeURIComponent(slot.dataset.pageId || "");
  // One read says who is reading, their note and whether the topic is saved (always 200).
  const readerApi = "/api/reader/" + encodeURIComponent(slot.dataset.pageId || "");
  const savedApi = "/api/saved/" + encodeURIComponent(slot.dataset.pageId || "");
  let saved = false;
  const here = encodeURIComponent(location.pathname).replace(/%2F/gi, "/");
  let note = null; // the note as last saved on the server (null: none)
  let busy = false;
  let editing = null; // the open editor's textarea and the text it started from, if any

  /* Drafts: what the reader typed and has not saved, kept in this browser per page until it is
     saved or discarded (drafts.js, shared with CPD reflections). */
  const drafts = window.textDraft("note-draft:" + (slot.dataset.pageId || ""), (draft) =>
    typeof draft.text === "string" && draft.text.trim() !== "" &&
    (draft.version === null || Number.isInteger(draft.version)));
  function readDraft() {
    return drafts.read();
  }
  function keepDraft(text, base) {
    drafts.keep({ text, version: base ? base.version : null });
  }
  function dropDraft() {
    editing = null;
    drafts.drop();
  }
  window.warnBeforeLeaving(() =>
    Boolean(editing && editing.area.isConnected && editing.area.value !== editing.start));

  /* h("button", {class: "x", type: "button", onclick: f}, "text", node…): attribute values
     come from this file only; note text only ever goes in as text nodes. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  function button(label, onclick, primary) {
    const cls = primary ? "page-notes__button page-notes__button--primary" : "page-notes__button";
    return h("button", { type: "button", class: cls, onclick }, label);
  }

  /* The button that takes focus when the reader comes back to the note (Edit or Add a note). */
  function mainButton(label, onclick, primary) {
    const node = button(label, onclick, primary);
    node.dataset.main = "";
    return node;
  }

  /* The note as plain text (CSS keeps its line breaks) with addresses and numbers as links
     (note-text.js, shared with the account page's list). */
  function noteText(text, id) {
    const box = h("div", { class: "page-notes__text" });
    if (id) box.id = id;
    window.noteLinks(box, text, "page-notes__link");
    return box;
  }

  /* --- The panel ------------------------------------------------------------------------- */

  const inner = h("div", { class: "page-notes__inner" });
  /* Actions other scripts put in the heading row (cpd.js: the CPD reflection button): one node
     carried from heading to heading as the panel redraws, so theirs survive every redraw. */
  const extras = h("span", { class: "page-notes__extras" });
  const status = h("p", { class: "page-notes__status", role: "status", "aria-live": "polite" });
  slot.replaceChildren(inner, status);

  function say(message, isError) {
    status.textContent = message || "";
    status.classList.toggle("page-notes__status--error", Boolean(isError));
  }

  /* "Save topic": a toggle for the account page's saved list. */
  function saveToggle() {
    const toggle = h("button", {
      type: "button", class: "page-notes__button page-notes__save", "aria-pressed": String(saved),
      onclick: async () => {
        let result;
        try {
          result = await request(saved ? "DELETE" : "PUT", savedApi);
        } catch (error) {
          say("Not saved: the site could not be reached.", true);
          return;
        }
        if (result.status !== 200) {
          say(problem(result, "save the topic"), true);
          return;
        }
        saved = Boolean(result.data && result.data.saved);
        toggle.setAttribute("aria-pressed", String(saved));
        toggle.textContent = saved ? "Saved" : "Save topic";
        say(saved ? "Topic saved: find it on your account page." : "Topic removed from your saved topics.");
      },
    }, saved ? "Saved" : "Save topic");
    return toggle;
  }

  /* The heading row; `beside` (an array) sits next to the heading, the actions at the end. On a
     phone the heading reads "My notes" (the rest is there for screen readers). */
  function head(...actions) {
    const beside = Array.isArray(actions[0]) ? actions.shift() : [];
    return h(
      "div",
      { class: "page-notes__head" },
      h("div", { class: "page-notes__heading" },
        h("h2", { class: "page-notes__title", id: "page-notes-title" }, "My notes",
          h("span", { class: "page-notes__title-rest" }, " for this page")),
        ...beside),
      h("div", { class: "page-notes__actions" }, ...actions, extras, saveToggle()),
    );
  }

  function show(...nodes) {
    inner.replaceChildren(...nodes);
    slot.setAttribute("aria-labelledby", "page-notes-title");
    slot.removeAttribute("aria-label");
    slot.classList.toggle("page-notes--has-note", note !== null);
    slot.removeAttribute("aria-busy");
  }

  function focus(selector) {
    const target = inner.querySelector(selector);
    if (target) target.focus();
  }

  /* One line for anonymous readers (the reference page's invitation): the clinical text
     matters more on the first screen. */
  function showAnonymous() {
    const next = "?next=" + here;
    inner.replaceChildren(
      h(
        "p",
        { class: "page-notes__hint page-notes__invite", id: "page-notes-title" },
        h("a", { href: "/create-account" + next }, "Create an account"),
        " to add page annotations · ",
        h("a", { href: "/sign-in" + next }, "Sign in"),
      ),
    );
    slot.setAttribute("aria-labelledby", "page-notes-title");
    slot.removeAttribute("aria-label");
    slot.removeAttribute("aria-busy");
  }

  /* The empty panel is one line: what notes are for (the reference page's words) waits behind
     a small "?" control, so the clinical text starts on the first screen of a phone. */
  const ABOUT =
    "Add information to this page that would be handy to have on hand during a consultation, " +
    "such as a web address or phone number. This information will always be displayed when " +
    "you visit this page";
  function aboutNotes() {
    const text = h("p", { class: "page-notes__hint page-notes__about-text", id: "page-notes-about", hidden: "" },
      ABOUT + ". Only you can see your notes.");
    const toggle = h("button", {
      type: "button", class: "page-notes__about", "aria-expanded": "false",
      "aria-controls": "page-notes-about", "aria-label": "What are notes for?",
      onclick: () => {
        text.hidden = !text.hidden;
        toggle.setAttribute("aria-expanded", String(!text.hidden));
      },
    }, "?");
    return [toggle, text];
  }

  function showNote() {
    if (note === null) {
      const [toggle, about] = aboutNotes();
      show(head([toggle], mainButton("Add a note", () => edit("", null), true)), about);
      return;
    }
    const text = noteText(note.text, "page-notes-text");
    text.classList.add("page-notes__text--clamped");
    const more = h("button", {
      type: "button", class: "page-notes__button", hidden: "",
      "aria-expanded": "false", "aria-controls": "page-notes-text",
      onclick: () => {
        const open = text.classList.toggle("page-notes__text--clamped") === false;
        more.setAttribute("aria-expanded", String(open));
        more.textContent = open ? "Show less" : "Show all";
      },
    }, "Show all");
    const printBox = h("input", {
      type: "checkbox", id: "page-notes-print", class: "page-notes__print-box",
      onchange: () => slot.classList.toggle("page-notes--print", printBox.checked),
    });
    printBox.checked = slot.classList.contains("page-notes--print");
    show(
      head(more, mainButton("Edit", () => edit(note.text, note)), button("Delete", confirmDelete)),
      text,
      h("p", { class: "page-notes__print" }, printBox,
        h("label", { for: "page-notes-print" }, " Include my note when printing")),
    );
    // Long notes show their first lines until asked: the reserved height holds on load.
    more.hidden = text.scrollHeight <= text.clientHeight + 1;
  }

  /* A draft left unsaved on an earlier visit: offered back, never applied unasked. */
  function offerDraft() {
    const draft = readDraft();
    if (!draft || (note !== null && draft.text === note.text)) {
      if (draft) dropDraft();
      return;
    }
    inner.append(
      h("div", { class: "page-notes__draft", role: "group", "aria-label": "Unsaved draft" },
        h("p", { class: "page-notes__hint" }, "You have an unsaved draft of this note."),
        h("div", { class: "page-notes__actions" },
          button("Restore draft", () => edit(draft.text, note), true),
          button("Discard draft", () => {
            dropDraft();
            showNote();
            say("Draft discarded.");
          }),
        ),
      ),
    );
  }

  function showError(message) {
    show(head(button("Try again", load)), h("p", { class: "page-notes__hint" }, message));
  }

  /* --- Editing --------------------------------------------------------------------------- */

  function count(text) {
    return [...text].length; // code points, as the server counts
  }

  function edit(text, base) {
    say("");
    const area = h("textarea", {
      id: "page-notes-input", class: "page-notes__input", rows: "5",
      "aria-describedby": "page-notes-limit page-notes-count", spellcheck: "true",
    });
    area.value = text;
    editing = { area, start: base ? base.text : "" };
    const counter = h("p", { class: "page-notes__count", id: "page-notes-count" });
    let wasOver = false;
    const update = () => {
      const n = count(area.value);
      const over = n > LIMIT;
      counter.textContent =
        n.toLocaleString("en-GB") + " of " + LIMIT.toLocaleString("en-GB") + " characters" +
        (over ? ": " + (n - LIMIT).toLocaleString("en-GB") + " too many" : "");
      counter.classList.toggle("page-notes__count--over", over);
      area.setAttribute("aria-invalid", String(over));
      if (over !== wasOver) say(over ? "Your note is over the 2,000-character limit." : "");
      wasOver = over;
    };
    area.addEventListener("input", update);
    area.addEventListener("input", () => {
      if (area.value.trim() && area.value !== editing.start) keepDraft(area.value, base);
      else dropDraft();
      editing = { area, start: base ? base.text : "" };
    });
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "Escape") {
        // Closes the editor; unsaved text stays a draft, offered back in the panel.
        event.preventDefault();
        closeKeepingDraft(area.value, base);
      }
    });
    const form = h(
      "form",
      { class: "page-notes__editor", novalidate: "", onsubmit: (event) => {
        event.preventDefault();
        submit(area.value, base);
      } },
      h("label", { for: "page-notes-input", class: "page-notes__label" }, "Your note"),
      h("p", { class: "page-notes__hint", id: "page-notes-limit" },
        "Up to 2,000 characters, visible only to you. Web addresses and phone numbers " +
        "become links."),
      area,
      counter,
      h(
        "div",
        { class: "page-notes__actions" },
        h("button", { type: "submit", class: "page-notes__button page-notes__button--primary" },
          "Save note"),
        button("Cancel", () => {
          say("");
          dropDraft();
          showNote();
          focus("[data-main]");
        }),
      ),
    );
    show(head(), form);
    update();
    area.focus();
  }

  function closeKeepingDraft(text, base) {
    const changed = text.trim() !== "" && text !== (base ? base.text : "");
    if (changed) keepDraft(text, base);
    editing = null;
    showNote();
    if (changed) {
      offerDraft();
      say("Editor closed: your text is kept as a draft.");
    } else {
      say("");
    }
    focus("[data-main]");
  }

  function submit(text, base) {
    if (!text.trim()) {
      say("Write something first, or cancel.", true);
      focus("textarea");
      return;
    }
    if (count(text) > LIMIT) {
      say("Your note is over the 2,000-character limit: shorten it, then save.", true);
      focus("textarea");
      return;
    }
    save(text, base);
  }

  async function request(method, url, body) {
    // A plain GET, so the first one is answered by the page's <link rel="preload"> (main.html).
    const init = { method, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" }; // writes are taken only as JSON
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    return { status: response.status, data };
  }

  function problem(result, action) {
    if (result.status === 401) return "You are signed out. Sign in again in another tab, then " + action + " again.";
    const detail = result.data && result.data.detail;
    if (Array.isArray(detail) && detail[0] && typeof detail[0].msg === "string") {
      return "Not saved: " + detail[0].msg.replace(/^Value error, /, "") + ".";
    }
    return "Something went wrong (" + result.status + "). Please " + action + " again.";
  }

  async function save(text, base) {
    if (busy) return;
    busy = true;
    say("Saving…");
    let result;
    try {
      result = await request("PUT", api, { text, version: base ? base.version : null });
    } catch (error) {
      say("Not saved: the site could not be reached. Check your connection and save again.", true);
      return;
    } finally {
      busy = false;
    }
    if (result.status === 200 || result.status === 201) {
      note = result.data;
      dropDraft();
      showNote();
      say("Note saved.");
      focus("[data-main]");
    } else if (result.status === 409) {
      conflict(text, result.data ? result.data.current : null);
    } else {
      say(problem(result, "save"), true);
    }
  }

  /* Saved elsewhere since this tab loaded it: show both, let the reader choose. */
  function conflict(mine, current) {
    note = current;
    const saved = current
      ? noteText(current.text)
      : h("p", { class: "page-notes__hint" }, "The saved note has been deleted.");
    show(
      head(),
      h(
        "div",
        { class: "page-notes__conflict" },
        h("p", { class: "page-notes__alert", tabindex: "-1" },
          "This note was changed in another tab or on another device after you opened it. " +
          "Your text below is not saved yet: choose which to keep."),
        h(
          "div",
          { class: "page-notes__versions" },
          h("div", { class: "page-notes__version page-notes__version--mine" },
            h("h3", {}, "Your unsaved text"), noteText(mine)),
          h("div", { class: "page-notes__version page-notes__version--saved" },
            h("h3", {}, "Saved note"), saved),
        ),
        h(
          "div",
          { class: "page-notes__actions" },
          button("Keep mine", () => save(mine, current), true),
          button("Use the saved note", () => {
            showNote();
            say("Showing the saved note; your text was discarded.");
            focus("[data-main]");
          }),
          button("Edit mine", () => edit(mine, current)),
        ),
      ),
    );
    say("Not saved: this note was changed elsewhere.", true);
    focus(".page-notes__alert");
  }

  /* --- Deleting -------------------------------------------------------------------------- */

  function confirmDelete() {
    show(
      head(),
      h("p", { class: "page-notes__alert", tabindex: "-1" },
        "Delete your note on this page? This cannot be undone."),
      h(
        "div",
        { class: "page-notes__actions" },
        button("Delete note", remove, true),
        button("Keep note", () => {
          showNote();
          focus("[data-main]");
        }),
      ),
    );
    focus(".page-notes__alert");
  }

  async function remove() {
    if (busy || note === null) return;
    busy = true;
    say("Deleting…");
    let result;
    try {
      result = await request("DELETE", api + "?version=" + encodeURIComponent(note.version));
    } catch (error) {
      say("Not deleted: the site could not be reached. Check your connection and try again.", true);
      return;
    } finally {
      busy = false;
    }
    if (result.status === 204 || result.status === 404) {
      note = null;
      showNote();
      say(result.status === 204 ? "Note deleted." : "This note had already been deleted.");
    } else if (result.status === 409) {
      note = result.data ? result.data.current : null;
      showNote();
      say("Not deleted: the note was changed elsewhere. This is the saved note now.", true);
    } else {
      showNote();
      say(problem(result, "delete"), true);
    }
    focus("[data-main]");
  }

  /* --- Loading --------------------------------------------------------------------------- */

  async function load() {
    let result;
    try {
      result = await request("GET", readerApi);
    } catch (error) {
      showError("Your notes could not be loaded: the site could not be reached.");
      return;
    }
    if (result.status === 200 && result.data && result.data.signed_in === false) {
      showAnonymous();
    } else if (result.status === 200 && result.data) {
      // cpd.js reports reading time only for a reader who records CPD.
      note = result.data.note || null;
      saved = Boolean(result.data.saved);
      showNote();
      // With the panel drawn, cpd.js may add to it: `extras` is in its heading row.
      document.dispatchEvent(new CustomEvent("reader-state",
        { detail: { cpd: Boolean(result.data.cpd), extras, panel: slot, status } }));
      offerDraft();
      say("");
    } else {
      showError("Your notes could not be loaded (error " + result.status + ").");
    }
  }

  load();
})();
