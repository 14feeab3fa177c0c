/** @type {import('tailwindcss').Config} */
// Tailwind 3 (pure JavaScript): Tailwind 4's native scanner ships per-platform binaries that
// some npm mirrors lack, which breaks `npm ci` from the committed lock file.
export default {
  content: ["./index.html", "./src/**/*.{ts,tsx}"],
  theme: { extend: {} },
  plugins: [],
};
