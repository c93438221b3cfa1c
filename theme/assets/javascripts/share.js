/* "Share with a colleague" on a topic: a signed-in reader makes a share link (POST /api/shares)
 * and sends it with the phone's share sheet (Web Share API) or copies it. Without JavaScript
 * the box is not shown (main.html); the account page lists and revokes links in plain forms.
 * The link is shown as text in a read-only field, never parsed as HTML.
 */
(() => {
  "use strict";

  const box = document.querySelector("[data-share]");
  if (!box || !window.fetch) return;
  const button = box.querySelector("[data-share-button]");
  const status = box.querySelector("[data-share-status]");
  const field = box.querySelector("[data-share-url]");
  box.classList.add("topic-share--ready");

  function say(text) {
    status.textContent = text;
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const response = await fetch("/api/shares", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ page_id: box.dataset.pageId }),
      });
      if (response.status === 401) {
        say("Sign in to share this topic with a colleague.");
        return;
      }
      const data = await response.json();
      if (!response.ok) {
        say(typeof data.detail === "string" ? data.detail : "The link could not be made.");
        return;
      }
      field.value = data.url;
      field.hidden = false;
      if (navigator.share) {
        try {
          await navigator.share({ title: document.title, url: data.url });
          say("Link shared. It works for 7 days, once in each browser.");
          return;
        } catch (e) {
          /* cancelled: fall back to copying */
        }
      }
      try {
        await navigator.clipboard.writeText(data.url);
        say("Link copied. It works for 7 days, once in each browser.");
      } catch (e) {
        field.select();
        say("Copy the link above. It works for 7 days, once in each browser.");
      }
    } catch (e) {
      say("The link could not be made. Check your connection and try again.");
    } finally {
      button.disabled = false;
    }
  });
})();
