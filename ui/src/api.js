// The session and every HTTP call to the backend. The access token lives
// only in this object's memory; the refresh token is an HttpOnly cookie the
// page never sees (the backend sets it on sign-in, scoped to /v1/auth). No
// token is ever put in a URL.

/** An error answer of the backend (or the auth service behind it). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function wait(seconds) {
  if (!seconds) return 'a little while';
  const s = Number(seconds);
  if (Number.isNaN(s)) return 'a little while';
  if (s < 90) return `${s} seconds`;
  return `${Math.ceil(s / 60)} minutes`;
}

/** A sentence a person can act on, for any error. */
export function describe(err) {
  if (!(err instanceof ApiError)) {
    return `Something went wrong: ${err?.message || err}`;
  }
  switch (err.code) {
    case 'invalid_credentials':
      return 'Wrong email or password.';
    case 'too_many_attempts':
      return `Too many failed sign-in attempts. Try again in ${wait(err.retryAfter)}.`;
    case 'email_taken':
      return 'An account with this email already exists. Sign in instead.';
    case 'invalid_email':
      return 'That email address does not look valid.';
    case 'weak_password':
      return `That password is too weak: ${err.message}`;
    case 'session_revoked':
      return 'Your session was ended elsewhere (signed out on another device or tab, or revoked). Please sign in again.';
    case 'refresh_token_reused':
      return 'For your safety your session was ended: it was used from two places at once. Please sign in again.';
    case 'refresh_token_expired':
    case 'invalid_refresh_token':
    case 'no_session':
      return 'Your session has expired. Please sign in again.';
    case 'auth_unavailable':
      return 'The sign-in service cannot be reached right now. Try again in a moment.';
    case 'overloaded':
      return `The sign-in service is busy. Try again in ${wait(err.retryAfter)}.`;
    case 'network':
      return 'The server cannot be reached. Check your connection; the page retries by itself.';
    case 'payload_too_large':
      return 'That file is larger than the server accepts.';
    case 'rate_limited':
    case 'too_many_runs':
    case 'too_many_connections':
      return err.message;
    default:
      return err.message || `The server answered ${err.status}.`;
  }
}

async function errorFrom(resp) {
  let code = `http_${resp.status}`;
  let message = resp.statusText;
  try {
    const body = await resp.json();
    if (body?.error?.code) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(resp.status, code, message, resp.headers.get('retry-after'));
}

async function send(path, init) {
  try {
    return await fetch(path, { credentials: 'same-origin', ...init });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
}

const SIGNED_OUT_CODES = new Set([
  'session_revoked',
  'refresh_token_reused',
  'refresh_token_expired',
  'invalid_refresh_token',
  'no_session',
]);

/** The signed-in user and their access token (memory only). */
export class Session {
  constructor() {
    this.token = null;
    this.user = null;
    this.refreshing = null;
    this.timer = null;
    /** Called with the error that ended the session (null on a normal sign-out). */
    this.onSignedOut = () => {};
  }

  get signedIn() {
    return this.token != null;
  }

  async signIn(email, password) {
    return this.#tokens('/v1/auth/login', { email, password });
  }

  async signUp(email, password, name) {
    const body = { email, password };
    if (name) body.name = name;
    return this.#tokens('/v1/auth/register', body);
  }

  async #tokens(path, body) {
    const resp = await send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw await errorFrom(resp);
    this.#adopt(await resp.json());
  }

  #adopt(answer) {
    this.token = answer.access_token;
    this.user = answer.user ?? this.user;
    clearTimeout(this.timer);
    const lead = Math.max(10, (answer.expires_in ?? 300) - 60);
    this.timer = setTimeout(() => this.refresh().catch(() => {}), lead * 1000);
  }

  /** Restores a session from the cookie after a reload; false when there is none. */
  async restore() {
    try {
      await this.refresh();
      if (!this.user) this.user = await this.json('/v1/auth/me');
      return true;
    } catch (e) {
      if (e instanceof ApiError && SIGNED_OUT_CODES.has(e.code)) return false;
      throw e;
    }
  }

  /** A new access token from the refresh cookie; concurrent callers share one request. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const resp = await send('/v1/auth/refresh', {
          method: 'POST',
          headers: { 'x-apex-client': 'web' },
        });
        if (!resp.ok) {
          const err = await errorFrom(resp);
          if (SIGNED_OUT_CODES.has(err.code) && this.token) this.#end(err);
          throw err;
        }
        this.#adopt(await resp.json());
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async signOut() {
    try {
      await this.fetch('/v1/auth/logout', { method: 'POST' });
    } catch {
      // the cookie is cleared either way; a dead session is signed out anyway
    }
    this.#end(null);
  }

  #end(err) {
    const was = this.token != null;
    this.forget();
    if (was) this.onSignedOut(err);
  }

  /** Drops the access token and the refresh schedule (the session ended elsewhere). */
  forget() {
    clearTimeout(this.timer);
    this.token = null;
    this.user = null;
  }

  /** Clears the refresh cookie of a session that is already dead. */
  async clearCookie() {
    await send('/v1/auth/logout', { method: 'POST' }).catch(() => {});
  }

  /** Calls the backend with the access token; refreshes it once when it expired. */
  async fetch(path, init = {}, retried = false) {
    if (!this.token) throw new ApiError(401, 'no_session', 'not signed in');
    const headers = new Headers(init.headers || {});
    headers.set('authorization', `Bearer ${this.token}`);
    const resp = await send(path, { ...init, headers });
    if (resp.ok) return resp;
    const err = await errorFrom(resp);
    if (resp.status === 401 && !retried && (err.code === 'token_expired' || err.code === 'invalid_token')) {
      await this.refresh();
      return this.fetch(path, init, true);
    }
    if (resp.status === 401 && SIGNED_OUT_CODES.has(err.code)) this.#end(err);
    throw err;
  }

  /** `fetch` with a JSON body and a JSON answer (null for 204). */
  async json(path, { method = 'GET', body } = {}) {
    const init = { method };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const resp = await this.fetch(path, init);
    return resp.status === 204 ? null : resp.json();
  }

  /**
   * Uploads a File straight from disk (the browser streams it; it is never
   * read into memory here), reporting progress as a fraction.
   */
  upload(path, file, onProgress) {
    const attempt = () =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', path);
        xhr.setRequestHeader('authorization', `Bearer ${this.token}`);
        xhr.setRequestHeader('content-type', 'application/octet-stream');
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        };
        xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload was interrupted'));
        xhr.onload = () => {
          let body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            // keep null
          }
          if (xhr.status >= 200 && xhr.status < 300) resolve(body);
          else
            reject(
              new ApiError(
                xhr.status,
                body?.error?.code ?? `http_${xhr.status}`,
                body?.error?.message ?? xhr.statusText,
                xhr.getResponseHeader('retry-after'),
              ),
            );
        };
        xhr.send(file);
      });
    return attempt().catch(async (err) => {
      if (err.status === 401 && err.code === 'token_expired') {
        await this.refresh();
        return attempt();
      }
      throw err;
    });
  }
}
