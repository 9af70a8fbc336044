// Switchboard's GraphiQL page: a sign-in bar above GraphiQL. Every request GraphiQL makes carries the access
// token: HTTP as `Authorization: Bearer <token>`, the WebSocket (graphql-transport-ws) in the payload of
// `connection_init`. The session lives in sessionStorage, so a reload keeps it and closing the tab ends it.
(function () {
  "use strict";

  var SIGN_IN =
    "mutation SignIn($email: String!, $password: String!) {\n" +
    "  signIn(email: $email, password: $password) {\n" +
    "    __typename\n" +
    "    ... on SignInPayload { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt" +
    " user { email fullName role } }\n" +
    "    ... on UserError { message }\n" +
    "  }\n" +
    "}";
  var REFRESH =
    "mutation Refresh($token: String!) {\n" +
    "  refreshSession(refreshToken: $token) {\n" +
    "    __typename\n" +
    "    ... on SignInPayload { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }\n" +
    "    ... on UserError { message }\n" +
    "  }\n" +
    "}";
  var SIGN_OUT = "mutation SignOut { signOut { __typename } }";
  var STORAGE_KEY = "switchboard.session";
  // refresh this long before the access token expires (or a fifth of its life, when that is shorter)
  var REFRESH_MARGIN_MS = 60000;
  var MAX_TIMER_MS = 2147483647;

  var config = JSON.parse(document.getElementById("sb-config").textContent);
  var endpoint = location.origin + location.pathname;
  var wsEndpoint = endpoint.replace(/^http/, "ws");

  var el = function (id) {
    return document.getElementById(id);
  };
  var form = el("sb-sign-in");
  var demo = el("sb-demo");
  var email = el("sb-email");
  var password = el("sb-password");
  var signInButton = el("sb-sign-in-button");
  var signedIn = el("sb-signed-in");
  var who = el("sb-who");
  var errorBox = el("sb-error");

  // --- the session ---------------------------------------------------------------------------------------

  var session = load();
  var refreshing = null;
  var refreshTimer = null;

  function load() {
    try {
      var stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
      return stored && stored.accessToken ? stored : null;
    } catch (error) {
      return null;
    }
  }

  function save(next) {
    session = next;
    if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORAGE_KEY);
    schedule();
  }

  function expiresIn(current) {
    var at = Date.parse(current.accessTokenExpiresAt);
    return isNaN(at) ? Infinity : at - Date.now();
  }

  function margin(current) {
    var issued = current.issuedAt || Date.now();
    var life = Date.parse(current.accessTokenExpiresAt) - issued;
    return isNaN(life) ? REFRESH_MARGIN_MS : Math.max(0, Math.min(REFRESH_MARGIN_MS, life / 5));
  }

  function schedule() {
    clearTimeout(refreshTimer);
    refreshTimer = null;
    if (!session || !session.refreshToken) return;
    var wait = expiresIn(session) - margin(session);
    if (wait === Infinity) return;
    refreshTimer = setTimeout(refresh, Math.min(Math.max(wait, 0), MAX_TIMER_MS));
  }

  async function post(query, variables, token) {
    var headers = { "content-type": "application/json", accept: "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    var response = await fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ query: query, variables: variables }),
    });
    var body = null;
    try {
      body = await response.json();
    } catch (error) {
      // not JSON: reported by status below
    }
    return { status: response.status, body: body };
  }

  // The SignInPayload of a signIn/refreshSession result, or an Error whose message says why not.
  function payloadOf(result, field) {
    var body = result.body;
    if (body && body.errors && body.errors.length) {
      throw new Error(body.errors.map(function (e) { return e.message; }).join("; "));
    }
    var payload = body && body.data && body.data[field];
    if (!payload) throw new Error("the server answered HTTP " + result.status + " without a " + field + " result");
    if (payload.__typename !== "SignInPayload") throw new Error(payload.message || payload.__typename);
    return payload;
  }

  async function signIn(address, secret) {
    var payload = payloadOf(await post(SIGN_IN, { email: address, password: secret }), "signIn");
    payload.issuedAt = Date.now();
    save(payload);
    identityChanged(false);
  }

  function signOut(message) {
    save(null);
    identityChanged(true);
    showError(message || "");
  }

  // One refresh at a time, shared by the timer, every 401 and the WebSocket; resolves to whether it worked.
  function refresh() {
    if (!refreshing) {
      refreshing = doRefresh().finally(function () {
        refreshing = null;
      });
    }
    return refreshing;
  }

  async function doRefresh() {
    var current = session;
    if (!current || !current.refreshToken) return false;
    try {
      var payload = payloadOf(await post(REFRESH, { token: current.refreshToken }), "refreshSession");
      if (session !== current) return Boolean(session); // signed out or in again meanwhile
      save(Object.assign({}, current, payload, { issuedAt: Date.now() }));
      return true;
    } catch (error) {
      if (session === current) signOut("Signed out: the session could not be refreshed (" + error.message + ")");
      return false;
    }
  }

  async function currentToken() {
    if (session && expiresIn(session) < 5000) await refresh();
    return session ? session.accessToken : null;
  }

  // --- what GraphiQL uses -------------------------------------------------------------------------------

  // GraphiQL's fetch: adds the token, refreshes once on a 401 and retries, and turns a final 401 into a
  // GraphQL error GraphiQL can show (the server's 401 body need not be JSON).
  async function authorizedFetch(input, init) {
    var attempt = async function () {
      var headers = new Headers((init && init.headers) || {});
      var token = await currentToken();
      if (token && !headers.has("authorization")) headers.set("authorization", "Bearer " + token);
      return fetch(input, Object.assign({}, init, { headers: headers }));
    };
    var response = await attempt();
    if (response.status === 401 && session && (await refresh())) response = await attempt();
    if (response.status !== 401) return response;
    var body = await response.text();
    try {
      body = JSON.parse(body);
    } catch (error) {
      // kept as text
    }
    var message = session
      ? "The server refused this session (HTTP 401): sign out and in again."
      : "Sign in above: the API answers HTTP 401 to anonymous requests.";
    var explained = { errors: [{ message: message, extensions: { status: 401, response: body } }] };
    return new Response(JSON.stringify(explained), {
      status: 401,
      headers: { "content-type": "application/json" },
    });
  }

  function createWsClient() {
    return graphqlWs.createClient({
      url: wsEndpoint,
      lazy: true,
      retryAttempts: 3,
      connectionParams: async function () {
        var token = await currentToken();
        return token ? { authorization: "Bearer " + token } : {};
      },
      on: {
        closed: function (event) {
          if (event && (event.code === 4401 || event.code === 4403)) {
            showError("The subscription connection was refused (" + event.code + " " + (event.reason || "") + ")");
          }
        },
      },
    });
  }

  var h = React.createElement;
  var root = ReactDOM.createRoot(el("graphiql"));
  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  var generation = 0;
  var wsClient = null;
  var fetcher = null;

  function connect() {
    if (wsClient) wsClient.dispose();
    wsClient = createWsClient();
    // a new fetcher makes GraphiQL fetch the schema again, now as the signed-in user
    fetcher = GraphiQL.createFetcher({ url: endpoint, fetch: authorizedFetch, wsClient: wsClient });
  }

  function render() {
    root.render(
      h(GraphiQL, {
        key: generation,
        fetcher: fetcher,
        defaultTabs: config.tabs,
        query: config.tabs[0].query,
        plugins: [explorer],
        defaultEditorToolsVisibility: true,
        inputValueDeprecation: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
      })
    );
  }

  // After sign-in: new clients, same GraphiQL (tabs stay as they are). After sign-out: GraphiQL is remounted
  // too, which ends any subscription still running as the previous user.
  function identityChanged(remount) {
    if (remount) generation += 1;
    connect();
    render();
    paint();
  }

  // --- the bar ------------------------------------------------------------------------------------------

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function paint() {
    form.hidden = Boolean(session);
    signedIn.hidden = !session;
    if (session) {
      var user = session.user || {};
      who.textContent = "Signed in as " + (user.fullName || user.email || "?") +
        (user.email ? " <" + user.email + ">" : "") + (user.role ? " \u00b7 " + user.role : "");
    }
  }

  (config.demoUsers || []).forEach(function (user, index) {
    var option = document.createElement("option");
    option.value = String(index);
    option.textContent = user.account + " \u00b7 " + user.role + " \u00b7 " + user.email;
    demo.appendChild(option);
  });
  demo.hidden = !(config.demoUsers || []).length;
  demo.addEventListener("change", function () {
    var user = config.demoUsers[Number(demo.value)];
    if (!user || demo.value === "") return;
    email.value = user.email;
    password.value = user.password;
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    showError("");
    signInButton.disabled = true;
    try {
      await signIn(email.value.trim(), password.value);
      password.value = "";
    } catch (error) {
      showError("Sign-in failed: " + error.message);
    } finally {
      signInButton.disabled = false;
    }
  });
  el("sb-sign-out").addEventListener("click", function () {
    // ends the session on the server too (its access tokens stop working); signed out here whatever it answers
    if (session) post(SIGN_OUT, {}, session.accessToken).catch(function () {});
    signOut("");
  });

  showError("");
  schedule();
  identityChanged(false);
})();
