/* A reader's note as text with its web addresses and telephone numbers as links, shared by the
 * topic's notes panel (notes.js) and the account page's list (my-notes.js).
 *
 * window.noteLinks(parent, text, linkClass) appends `text` to `parent` as text nodes, with
 * http(s) addresses and telephone numbers as <a> elements: the note is never parsed as HTML,
 * and an href is only ever an http(s) URL as the URL parser reads it, or "tel:" and digits.
 */
(function () {
  "use strict";

  /* Web addresses: http(s):// or www., up to a space, quote, angle bracket or invisible
     formatting character (so a bidi override cannot hide inside a link). */
  const WEB = /\b(?:https?:\/\/|www\.)[^\s<>"\p{Cf}\p{Z}]+/giu;
  /* Telephone numbers: digits with single spaces or hyphens, optional "+" and (area code). */
  const PHONE = /(?<![\w+/.-])\+?(?:\(\d{1,5}\)|\d)(?:[ -]?(?:\(\d{1,5}\)|\d))+(?![\w/]|[.,]\d)/g;
  const DATE = /^(?:\d{4}-\d\d?-\d\d?|\d\d?-\d\d?-\d{4})$/;

  /* The href for a web address in a note, or null: only http and https, as the URL parser
     understands the address (it also percent-encodes anything that could break out). */
  function webHref(raw) {
    try {
      const url = new URL(/^www\./i.test(raw) ? "https://" + raw : raw);
      if ((url.protocol === "https:" || url.protocol === "http:") && url.hostname) return url.href;
    } catch (error) {
      /* not an address: stays text */
    }
    return null;
  }

  /* The href for a telephone number, or null: "tel:" and digits, with a leading "+". */
  function telHref(raw) {
    if (DATE.test(raw)) return null;
    const international = raw.startsWith("+");
    const digits = (international ? raw.replace("(0)", "") : raw).replace(/\D/g, "");
    if (digits.length < 7 || digits.length > 15) return null;
    // National numbers start with 0 (UK style): a bare run of digits is more often a
    // quantity, a date or a reference than a number to ring.
    if (!international && !/^\(?0/.test(raw)) return null;
    return "tel:" + (international ? "+" : "") + digits;
  }

  /* Trailing punctuation ends a sentence, not an address (a ")" closing a "(" in it stays). */
  function trimAddress(raw) {
    let end = raw.length;
    while (end > 0 && /[.,;:!?'")\]}]/.test(raw[end - 1])) {
      if (raw[end - 1] === ")") {
        const part = raw.slice(0, end);
        if (part.split("(").length > part.split(")").length - 1) break;
      }
      end -= 1;
    }
    return raw.slice(0, end);
  }

  function link(href, text, linkClass) {
    const a = document.createElement("a");
    a.className = linkClass;
    a.rel = "noopener noreferrer nofollow";
    a.textContent = text;
    a.href = href;
    return a;
  }

  function appendPhones(parent, text, linkClass) {
    let last = 0;
    for (const match of text.matchAll(PHONE)) {
      const href = telHref(match[0]);
      if (!href) continue;
      parent.append(text.slice(last, match.index), link(href, match[0], linkClass));
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  window.noteLinks = function (parent, text, linkClass) {
    let last = 0;
    for (const match of text.matchAll(WEB)) {
      const raw = trimAddress(match[0]);
      const href = raw && webHref(raw);
      if (!href) continue;
      appendPhones(parent, text.slice(last, match.index), linkClass);
      parent.append(link(href, raw, linkClass));
      last = match.index + raw.length;
    }
    appendPhones(parent, text.slice(last), linkClass);
  };
})();
