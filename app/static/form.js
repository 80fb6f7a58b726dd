// The form page: "typical flower" buttons fill the fields; after a refused submission the first
// field in error gets the focus. No inline script, so a strict Content-Security-Policy holds.
(function () {
  "use strict";
  const FIELDS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
  const camel = (name) => name.replace(/_(\w)/g, (_, c) => c.toUpperCase());

  function clearError(input) {
    input.removeAttribute("aria-invalid");
    input.closest(".field").classList.remove("invalid");
    const error = document.getElementById(input.id + "-error");
    if (error) error.remove();
    input.setAttribute("aria-describedby", input.id + "-hint");
  }

  document.querySelectorAll("button.example").forEach((button) => {
    button.addEventListener("click", () => {
      for (const name of FIELDS) {
        const input = document.getElementById(name);
        input.value = button.dataset[camel(name)];
        clearError(input);
      }
      const summary = document.getElementById("summary");
      if (summary) summary.remove();
      document.querySelectorAll("button.example").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
  });

  for (const name of FIELDS) {
    const input = document.getElementById(name);
    if (!input) continue;
    // Typing a new value clears the server's complaint about the old one.
    input.addEventListener("input", () => {
      if (input.getAttribute("aria-invalid") === "true") clearError(input);
      document.querySelectorAll("button.example").forEach((b) => b.removeAttribute("aria-pressed"));
    });
  }

  const firstInvalid = document.querySelector('input[aria-invalid="true"]');
  if (firstInvalid) firstInvalid.focus();
})();
