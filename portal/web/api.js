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

/** The JSON body of a portal `response`; throws a PortalError with the portal's message,
 *  hint and contract error when it is a failure (or not JSON). */
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

/** POST the JSON text `body` to /api/<path> with the CSRF token (double submit); the
 *  answer's JSON body, or a PortalError. */
export async function post(path, body) {
  const response = await fetch(`/api/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrftoken": csrfToken() },
    body,
  });
  return answer(response);
}

/** POST a signed request to /api/relay. */
export async function relay(signed) {
  return post("relay", JSON.stringify(signed));
}
