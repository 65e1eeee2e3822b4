"use strict";

// Sign-in page of the agent console. The CSRF token comes from the
// ipsm_console_csrf cookie, which GET /console/login sets.
(function () {
  const form = document.getElementById("login-form");
  const username = document.getElementById("login-username");
  const password = document.getElementById("login-password");
  const submit = document.getElementById("login-submit");
  const error = document.getElementById("login-error");

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const index = part.indexOf("=");
      if (index < 0) continue;
      if (part.slice(0, index).trim() === name) {
        return decodeURIComponent(part.slice(index + 1).trim());
      }
    }
    return "";
  }

  // The cookie is missing when the page came from a cache or the cookie
  // expired: asking for the login page again sets a fresh one.
  async function csrfToken() {
    let token = readCookie("ipsm_console_csrf");
    if (!token) {
      await fetch("/console/login", { credentials: "same-origin", cache: "no-store" });
      token = readCookie("ipsm_console_csrf");
    }
    return token;
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  function detailOf(body, fallback) {
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((item) => (item && item.msg) || String(item)).join("; ");
    }
    return fallback;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    error.textContent = "";
    if (!username.value.trim() || !password.value) {
      showError("Enter your user name and password.");
      return;
    }

    submit.disabled = true;
    try {
      const response = await fetch("/console/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRF-Token": await csrfToken(),
        },
        body: JSON.stringify({ username: username.value.trim(), password: password.value }),
      });
      if (response.ok) {
        window.location.assign("/console");
        return;
      }
      let body = null;
      try {
        body = await response.json();
      } catch (ignored) {
        body = null;
      }
      showError(detailOf(body, "Sign-in failed (HTTP " + response.status + ")."));
      password.value = "";
      password.focus();
    } catch (failure) {
      showError("The server cannot be reached. Check your connection and try again.");
    } finally {
      submit.disabled = false;
    }
  });

  username.focus();
})();
