// The only script: copy buttons. Everything else works without JavaScript.
document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-copy]");
  if (!b) return;
  const field = document.getElementById(b.dataset.copy);
  field.select();
  if (navigator.clipboard) navigator.clipboard.writeText(field.value);
  else document.execCommand("copy");
  b.textContent = b.textContent.replace(/ ✓$/, "") + " ✓";
});
