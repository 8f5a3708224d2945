// Scraper monitor: the little the server-rendered panels need from the browser.
// - a loading state while the next panel is fetched (links, filter forms);
// - filter dropdowns apply on change, and unset filters stay out of the URL;
// - "Try again" on the error page reloads.
// Everything works without it; it only makes waiting visible.
(function () {
  "use strict";

  function loading() {
    document.body.classList.add("is-loading");
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    if (link.hasAttribute("download") || link.target) return; // downloads do not replace the page
    if (link.hasAttribute("data-reload")) {
      event.preventDefault();
      loading();
      window.location.reload();
      return;
    }
    loading();
  });

  document.addEventListener("submit", function (event) {
    // Leave unset filters out of the URL, so it stays short enough to read and share.
    Array.prototype.forEach.call(event.target.elements, function (field) {
      if (field.name && field.value === "") field.disabled = true;
    });
    loading();
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      // Reset paging: page 3 of the old filter means nothing for the new one.
      var offset = select.form.querySelector("input[name=offset]");
      if (offset) offset.remove();
      loading();
      select.form.requestSubmit();
    }
  });

  // Back/forward restores the page from the cache with the loading state still on.
  window.addEventListener("pageshow", function () {
    document.body.classList.remove("is-loading");
    Array.prototype.forEach.call(document.querySelectorAll("form [disabled]"), function (field) {
      field.disabled = false;
    });
  });
})();
