import { defineConfig } from "vite";

// Relative asset paths so dist/ works under /console or any static file server.
export default defineConfig({ base: "./", build: { target: "es2022" } });
