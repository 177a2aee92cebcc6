// Inline SVG icons (stroke drawings in the text color), so the page needs no icon font or emoji.
const svg = (body) => `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;

export const icons = {
  clip: svg('<path d="M20 11.5l-8.3 8.3a5 5 0 01-7-7l8.6-8.6a3.4 3.4 0 014.8 4.8l-8.5 8.5a1.8 1.8 0 01-2.6-2.6L15 7"/>'),
  mic: svg('<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0013 0M12 17.5V21"/>'),
  trash: svg('<path d="M4 7h16M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13"/>'),
  pencil: svg('<path d="M4 20h4L19.5 8.5l-4-4L4 16z"/>'),
  menu: svg('<path d="M4 6h16M4 12h16M4 18h16"/>'),
  sliders: svg('<path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1"/><circle cx="15" cy="6" r="2"/><circle cx="9" cy="12" r="2"/><circle cx="17" cy="18" r="2"/>'),
  theme: svg('<circle cx="12" cy="12" r="8"/><path d="M12 4a8 8 0 000 16z" fill="currentColor"/>'),
  close: svg('<path d="M6 6l12 12M18 6L6 18"/>'),
  file: svg('<path d="M6 3h8l4 4v14H6zM14 3v4h4"/>'),
};

// Fills every element with a data-icon attribute.
export function placeIcons(root = document) {
  for (const e of root.querySelectorAll('[data-icon]')) e.innerHTML = icons[e.dataset.icon];
}
