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
 */
(function () {
  "use strict";

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
