// Talking to the portal: JSON reads, and relays that echo the CSRF cookie (double submit).
export class PortalError extends Error {
  constructor(message, hint, contractError) {
    super(message);
    this.hint = hint;
    this.contractError = contractError;
  }
}

function csrfToken() {
  const match = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  return match ? match.slice("csrftoken=".length) : "";
}

async function answer(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    throw new PortalError(`the portal answered ${response.status} without a readable message`, "try again");
  }
  if (!response.ok || body.error) {
    const error = body.error ?? {};
    throw new PortalError(error.message ?? `the portal answered ${response.status}`, error.hint, error.contract_error);
  }
  return body;
}

/** GET /api/<path>?params (params: an object, or an array of [key, value] pairs). */
export async function get(path, params = {}) {
  const query = new URLSearchParams(Array.isArray(params) ? params : Object.entries(params));
  return answer(await fetch(`/api/${path}?${query}`, { credentials: "same-origin" }));
}

/** POST a signed request to /api/relay. */
export async function relay(signed) {
  const response = await fetch("/api/relay", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrftoken": csrfToken() },
    body: JSON.stringify(signed),
  });
  return answer(response);
}
