/* "My notes" on the account page: search as you type, links in notes, edit in place.
 *
 * Only an enhancement: without this script the search form is a plain GET that the server
 * answers with the same filtering (site_api/routes/account_notes.py). Here each pause in typing
 * asks GET /api/notes and redraws the list with the markup the server renders (account_notes.html),
 * built with createElement/textContent so a note's text is never parsed as HTML. Each note's web
 * addresses and phone numbers become links (note-text.js), and an "Edit" button edits the note
 * where it is listed, saving with the version shown so a change made elsewhere is never
 * overwritten unseen.
 * Loaded on every page (mkdocs.yml extra_javascript); does nothing where the section is absent.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 200;
  var MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
  ];

  // Worded as status_text() in account_notes.py.
  function statusText(q, total) {
    if (q) return total === 1 ? "1 note found" : total + " notes found";
    return total === 1 ? "You have 1 note." : "You have " + total + " notes.";
  }

  // Stored times are naive UTC ("2026-03-12T14:05:06.123456"): read the date part as it is,
  // since Date() would take a time without a zone as local time.
  function dateParts(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso || "");
    if (!m) return null;
    return {
      iso: m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4] + "Z",
      text: Number(m[3]) + " " + MONTHS[Number(m[2]) - 1] + " " + m[1],
    };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function noteItem(note) {
    var item = el("li", "my-note");
    item.setAttribute("data-page-id", note.page_id);
    item.setAttribute("data-version", String(note.version));
    var title;
    if (note.page_exists && typeof note.url === "string" && note.url.charAt(0) === "/") {
      title = el("h3", "my-note-title");
      var link = el("a", "", note.title);
      link.setAttribute("href", note.url);
      title.appendChild(link);
    } else {
      item.setAttribute("data-gone", "");
      title = el(
        "h3",
        "my-note-title my-note-title--gone",
        "This page no longer exists (id: " + note.page_id + ")"
      );
    }
    item.appendChild(title);
    item.appendChild(el("p", "my-note-text", note.text));
    var date = dateParts(note.updated_at);
    if (date) {
      var line = el("p", "my-note-date", "Updated ");
      var time = el("time", "", date.text);
      time.setAttribute("datetime", date.iso);
      line.appendChild(time);
      item.appendChild(line);
    }
    return item;
  }

  function showText(box, text) {
    box.replaceChildren();
    if (window.noteLinks) window.noteLinks(box, text, "my-note-link");
    else box.textContent = text;
  }

  function today() {
    var now = new Date();
    return now.getDate() + " " + MONTHS[now.getMonth()] + " " + now.getFullYear();
  }

  function problemText(status, body) {
    if (status === 401) return "You have been signed out. Sign in again, then save.";
    if (status === 404) return "This page no longer exists, so its note cannot be changed here.";
    var detail = body && body.detail;
    if (Array.isArray(detail) && detail[0] && typeof detail[0].msg === "string") {
      return "Not saved: " + detail[0].msg.replace(/^Value error, /, "") + ".";
    }
    if (typeof detail === "string") return "Not saved: " + detail;
    return "Not saved (" + status + "). Please try again.";
  }

  /* Links in the note's text, and an Edit button (not for a page that no longer exists). */
  function enhance(item) {
    var box = item.querySelector(".my-note-text");
    if (!box || item.hasAttribute("data-enhanced")) return;
    item.setAttribute("data-enhanced", "");
    var text = box.textContent;
    showText(box, text);
    if (item.hasAttribute("data-gone")) return;
    var titleNode = item.querySelector(".my-note-title");
    var edit = el("button", "md-button my-note-edit", "Edit");
    edit.type = "button";
    edit.setAttribute("aria-label", "Edit note on " + (titleNode ? titleNode.textContent : "this page"));
    var status = el("p", "my-note-status");
    status.setAttribute("role", "status");
    var actions = el("p", "my-note-actions");
    actions.appendChild(edit);
    item.appendChild(actions);
    item.appendChild(status);

    edit.addEventListener("click", function () {
      var id = "my-note-edit-" + item.getAttribute("data-page-id");
      var form = el("form", "my-note-editor");
      var label = el("label", "my-note-label", "Edit note");
      label.setAttribute("for", id);
      var area = el("textarea", "my-note-input");
      area.id = id;
      area.maxLength = 2000;
      area.rows = 4;
      area.value = text;
      var save = el("button", "md-button md-button--primary", "Save");
      save.type = "submit";
      var cancel = el("button", "md-button", "Cancel");
      cancel.type = "button";
      var row = el("p", "my-note-actions");
      row.append(save, " ", cancel);
      form.append(label, area, row);
      box.hidden = true;
      actions.hidden = true;
      status.textContent = "";
      item.insertBefore(form, actions);
      area.focus();

      function close(message) {
        form.remove();
        box.hidden = false;
        actions.hidden = false;
        status.textContent = message || "";
        edit.focus();
      }
      cancel.addEventListener("click", function () { close(""); });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var version = Number(item.getAttribute("data-version")) || null;
        save.disabled = true;
        fetch("/api/notes/" + encodeURIComponent(item.getAttribute("data-page-id")), {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", accept: "application/json" },
          body: JSON.stringify({ text: area.value, version: version }),
        })
          .then(function (response) {
            return response.json().catch(function () { return null; }).then(function (body) {
              return { status: response.status, body: body };
            });
          })
          .then(function (result) {
            save.disabled = false;
            if (result.status === 200 || result.status === 201) {
              text = result.body.text;
              item.setAttribute("data-version", String(result.body.version));
              showText(box, text);
              var time = item.querySelector(".my-note-date time");
              if (time) time.textContent = today();
              close("Saved.");
              return;
            }
            if (result.status === 409 && result.body) {
              // Changed in another tab or device: show what is saved now; the reader's text
              // stays in the box, and saving again replaces the version now shown.
              var current = result.body.current;
              if (current) {
                text = current.text;
                item.setAttribute("data-version", String(current.version));
                showText(box, text);
                box.hidden = false;
              }
              status.textContent =
                "This note was changed elsewhere since this page was opened: the saved text is " +
                "shown above. Save again to replace it with yours.";
              return;
            }
            status.textContent = problemText(result.status, result.body);
          })
          .catch(function () {
            save.disabled = false;
            status.textContent = "Not saved: the site could not be reached.";
          });
      });
    });
  }

  function accountUrl(q, notesPage) {
    var params = new URLSearchParams();
    if (q) params.set("q", q);
    if (notesPage > 1) params.set("notes_page", String(notesPage));
    var query = params.toString();
    return "/account" + (query ? "?" + query : "");
  }

  function init() {
    var root = document.querySelector("[data-my-notes]");
    if (!root || !window.fetch || !window.URLSearchParams) return;
    root.querySelectorAll(".my-note").forEach(enhance);
    var form = root.querySelector("[data-my-notes-search]");
    var input = form && form.querySelector("input[name=q]");
    var list = root.querySelector("[data-my-notes-list]");
    var status = root.querySelector("[data-my-notes-status]");
    var pager = root.querySelector("[data-my-notes-pager]");
    var clear = root.querySelector("[data-my-notes-clear]");
    if (!input || !list || !status) return;
    var perPage = Number(root.getAttribute("data-per-page")) || 50;

    var timer = 0;
    var controller = null;
    var shown = input.value.trim(); // the query the list on screen answers

    function render(q, body) {
      var items = body.items || [];
      var fragment = document.createDocumentFragment();
      items.forEach(function (note) { fragment.appendChild(noteItem(note)); });
      list.replaceChildren(fragment);
      list.querySelectorAll(".my-note").forEach(enhance);
      status.textContent = statusText(q, body.total);
      if (clear) clear.hidden = !q;
      if (pager) {
        // The first page is on screen; the rest are the server's pages of the same list.
        var pages = Math.max(1, Math.ceil(body.total / perPage));
        var parts = [el("span", "", "Page 1 of " + pages)];
        if (pages > 1) {
          var older = el("a", "", "Older notes");
          older.setAttribute("href", accountUrl(q, 2) + "#my-notes");
          older.setAttribute("rel", "next");
          parts.push(older);
        }
        pager.replaceChildren.apply(pager, parts);
        pager.hidden = pages < 2;
      }
      // Reload, back and a shared link show what is on screen now.
      history.replaceState(history.state, "", accountUrl(q, 1) + location.hash);
    }

    function search() {
      var q = input.value.trim();
      if (q === shown) return;
      if (controller) controller.abort();
      controller = new AbortController();
      var mine = controller;
      var params = new URLSearchParams({ q: q, limit: String(perPage) });
      fetch("/api/notes?" + params.toString(), {
        credentials: "same-origin",
        headers: { accept: "application/json" },
        signal: mine.signal,
      })
        .then(function (response) {
          if (response.status === 401) throw new Error("signed-out");
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (body) {
          if (mine !== controller) return; // a later search has started
          shown = q;
          render(q, body);
        })
        .catch(function (error) {
          if (error.name === "AbortError" || mine !== controller) return;
          status.textContent =
            error.message === "signed-out"
              ? "You have been signed out. Sign in again to search your notes."
              : "Searching as you type did not work. Press Search to search.";
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DEBOUNCE_MS);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
