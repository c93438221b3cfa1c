/* The header's search box: suggestions as you type (an ARIA 1.2 combobox with a listbox).
 *
 * Only an enhancement: without this script the box is a plain GET form to /search, which the
 * server answers with a results page. Here each pause in typing asks
 * GET /api/search?suggest=true (not counted as an unanswered search) and lists the titles it
 * returns, built with createElement/textContent so nothing from the answer is parsed as HTML.
 * Arrow keys move through the suggestions, Enter opens the highlighted one (or, with none
 * highlighted, the results page /search?q=), Escape closes the list, then clears the box.
 * Loaded on every page (mkdocs.yml extra_javascript).
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var LIMIT = 8;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setup(form) {
    var input = form.querySelector("input[name=q]");
    var list = form.querySelector("[role=listbox]");
    if (!input || !list) return;
    var status = el("span", "site-search__status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var timer = null;
    var asked = 0; // answers to older questions are dropped
    var controller = null;
    var active = -1;
    var shownFor = null;
    var note = null;

    function options() {
      return list.querySelectorAll("[role=option]");
    }

    function close() {
      list.hidden = true;
      if (note) note.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = options();
      if (!items.length) return;
      if (index < 0) index = items.length - 1;
      if (index >= items.length) index = 0;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }

    function show(q, results, corrected) {
      list.textContent = "";
      if (!note) {
        note = el("p", "site-search__corrected");
        note.hidden = true;
        list.parentNode.insertBefore(note, list);
      }
      // A spelling correction (never a word only a body the reader may not read holds).
      note.textContent = corrected ? "Showing results for “" + corrected + "”" : "";
      note.hidden = !corrected;
      active = -1;
      input.removeAttribute("aria-activedescendant");
      shownFor = q;
      results.forEach(function (result, i) {
        if (typeof result.url !== "string" || result.url.charAt(0) !== "/") return;
        var option = el("li", "site-search__option");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-url", result.url);
        option.appendChild(el("span", "site-search__title", result.title));
        if (result.section) option.appendChild(el("span", "site-search__section", result.section));
        list.appendChild(option);
      });
      var count = options().length;
      if (count) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent =
          (count === 1 ? "1 suggestion" : count + " suggestions") +
          (corrected ? " for “" + corrected + "”" : "");
      } else {
        close();
        status.textContent = "No suggestions";
      }
    }

    function ask() {
      var q = input.value.trim();
      if (q.length < 2) {
        close();
        list.textContent = "";
        shownFor = null;
        status.textContent = "";
        return;
      }
      if (q === shownFor) return;
      var mine = ++asked;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var url = "/api/search?suggest=true&limit=" + LIMIT + "&q=" + encodeURIComponent(q);
      fetch(url, {
        credentials: "same-origin",
        headers: { accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (body) {
          if (mine !== asked || !body || !Array.isArray(body.results)) return;
          show(q, body.results, typeof body.did_you_mean === "string" ? body.did_you_mean : "");
        })
        .catch(function () {
          /* offline or aborted: the form still submits to /search */
        });
    }

    function go(option) {
      window.location.assign(option.getAttribute("data-url"));
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!options().length) return;
        event.preventDefault();
        if (!open) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          go(options()[active]);
        }
        // otherwise the form submits: the results page /search?q=
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          list.textContent = "";
          shownFor = null;
        }
      }
    });

    input.addEventListener("focus", function () {
      if (options().length && input.value.trim() === shownFor) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    });

    input.addEventListener("blur", function () {
      // Later than a click on an option, which navigates first.
      setTimeout(close, 150);
    });

    // mousedown, not click: it comes before the input's blur closes the list.
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (!option) return;
      event.preventDefault();
      go(option);
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-site-search]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
