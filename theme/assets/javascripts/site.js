/* Small progressive touches on every page (the page is complete without them).
 *
 * Print: the paper copy's header carries the date it was printed, and the authoring details
 * (a closed <details> on screen) are opened for the printout and closed again after.
 */
(() => {
  "use strict";

  const stamp = () => {
    const date = new Date().toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
    for (const node of document.querySelectorAll("[data-print-date]")) node.textContent = date;
  };
  stamp();

  let opened = [];
  window.addEventListener("beforeprint", () => {
    stamp();
    opened = [...document.querySelectorAll("details.topic-meta:not([open])")];
    for (const details of opened) details.open = true;
  });
  window.addEventListener("afterprint", () => {
    for (const details of opened) details.open = false;
    opened = [];
  });
})();
