// Forms with data-confirm ask before they are sent (an inline onsubmit would be refused by the
// Content-Security-Policy).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
