// Small site-wide behaviour: confirm destructive forms before they post.
document.querySelectorAll("form.confirm").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm || "Are you sure?")) event.preventDefault();
  });
});
