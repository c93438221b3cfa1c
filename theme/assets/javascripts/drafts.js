/* Drafts: what a reader typed and has not saved, kept in this browser until it is saved or
 * discarded, so a link clicked (or a reload) mid-edit loses nothing. Shared by the notes panel
 * (notes.js) and CPD reflections (reflect.js). A draft never leaves the browser: only the
 * reader's own save sends its text.
 *
 * window.textDraft(key, valid) -> { read(), keep(draft), drop() }: `key` names the draft in
 * localStorage; `valid(draft)` says whether a stored value is one (a stored draft may be
 * anything). Storage may be absent or full: a draft is then kept for this page view only, and
 * every failure to read reads as "no draft".
 * window.warnBeforeLeaving(dirty) asks before the page is left while dirty() is true.
 *
 * Keys name the reader (`note-draft:<reader>:<page>`, `cpd-draft:<reader>:<day>:<page>`, given
 * by the API: site_api/accounts/drafts.py), so a second reader on a shared ward computer is
 * never offered the first one's text. On every page this file also
 * - drops the old per-page note drafts (`note-draft:<page>`, from before drafts named their
 *   reader): nobody can say whose they are, so they are offered to no one;
 * - on the page a sign-out leads to (its header says "You have signed out.", marked
 *   data-signed-out), removes every note and CPD draft in this browser, so nothing typed stays
 *   on a shared computer once its reader leaves.
 */
(function () {
  "use strict";

  const PREFIXES = ["note-draft:", "cpd-draft:"]; // KINDS in site_api/accounts/drafts.py

  /* Removes every stored draft whose key `unwanted(key)` names. */
  function dropDrafts(unwanted) {
    try {
      const keys = [];
      for (let i = 0; i < localStorage.length; i += 1) keys.push(localStorage.key(i));
      for (const key of keys) {
        if (key !== null && unwanted(key)) localStorage.removeItem(key);
      }
    } catch (error) {
      /* no storage: no drafts kept */
    }
  }

  // The server marks the page a request that ended this browser's session leads to (sign out,
  // sign out everywhere, account deleted, password reset: "You have signed out." in the header).
  // It never marks a signed-in reader's page, so a link carrying `?signed-out` wipes nothing.
  const signedOut = document.querySelector("[data-signed-out]") !== null;
  dropDrafts((key) =>
    /^note-draft:[^:]*$/.test(key) ||
    (signedOut && PREFIXES.some((prefix) => key.startsWith(prefix))));

  window.textDraft = function (key, valid) {
    let memory = null; // the draft when this browser's storage refuses it
    return {
      read() {
        if (memory) return memory;
        try {
          const draft = JSON.parse(localStorage.getItem(key) || "null");
          if (draft && typeof draft === "object" && valid(draft)) return draft;
        } catch (error) {
          /* corrupt or unavailable: ignored */
        }
        return null;
      },
      keep(draft) {
        memory = null;
        try {
          localStorage.setItem(key, JSON.stringify(draft));
        } catch (error) {
          memory = draft; // storage full or disabled: the beforeunload prompt still warns
        }
      },
      drop() {
        memory = null;
        try {
          localStorage.removeItem(key);
        } catch (error) {
          /* nothing kept */
        }
      },
    };
  };

  window.warnBeforeLeaving = function (dirty) {
    window.addEventListener("beforeunload", (event) => {
      if (dirty()) {
        event.preventDefault();
        event.returnValue = ""; // older Chromium needs a value to ask
      }
    });
  };
})();
