// The queue's "select all on this page" checkbox. Everything works without it: it only ticks
// the row boxes that a person could tick one by one.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  for (const row of document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)) {
    row.checked = box.checked;
  }
});
