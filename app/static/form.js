// Fills the form with a typical sample of the chosen species.
document.querySelectorAll("button.example").forEach((button) => {
  button.addEventListener("click", () => {
    for (const name of ["sepal_length", "sepal_width", "petal_length", "petal_width"]) {
      const input = document.getElementById(name);
      input.value = button.dataset[name.replace(/_(\w)/g, (_, c) => c.toUpperCase())];
      input.removeAttribute("aria-invalid");
      input.closest(".field").classList.remove("invalid");
      const error = document.getElementById(name + "-error");
      if (error) error.remove();
    }
  });
});
