// Light and dark: the system's choice (prefers-color-scheme) unless the
// button says otherwise; and larger text for projectors. Both remembered.

import { byId } from "./dom.js";

const THEMES = ["auto", "light", "dark"];

function load(key, fallback) {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback; // storage disabled: the choice lasts for this page only
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch { /* see load */ }
}

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === "auto") delete root.dataset.theme;
  else root.dataset.theme = theme;
  const button = byId("theme-toggle");
  button.textContent = `Theme: ${theme}`;
  button.setAttribute("aria-label", `Colour theme: ${theme}. Press for the next one.`);
}

function applySize(large) {
  const root = document.documentElement;
  if (large) root.dataset.size = "large";
  else delete root.dataset.size;
  byId("size-toggle").setAttribute("aria-pressed", String(large));
}

export function setUpTheme() {
  let theme = load("dlt-explorer-theme", "auto");
  if (!THEMES.includes(theme)) theme = "auto";
  applyTheme(theme);
  byId("theme-toggle").addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    save("dlt-explorer-theme", theme);
    applyTheme(theme);
  });
  let large = load("dlt-explorer-size", "normal") === "large";
  applySize(large);
  byId("size-toggle").addEventListener("click", () => {
    large = !large;
    save("dlt-explorer-size", large ? "large" : "normal");
    applySize(large);
  });
}
