// A real OpenID provider for the tests: the certified `oidc-provider`
// package, on a loopback port, with the clients given on the command line.
//
//   node oidc.mjs PORT CLIENTS_JSON
//
// OIDC_CC_TTL in the environment sets the life of a client-credentials
// token in seconds (300 otherwise), for tests of tokens that expire.
// CLIENTS_JSON is a list of {client_id, client_secret, redirect_uris,
// post_logout_redirect_uris, grant_types}. The provider signs in whoever the
// relying party names in `login_hint` (an account's e-mail or id) without a
// form, and consents for them, so a test can follow the redirects with a
// plain HTTP client. Accounts are made and changed over
// `POST /test/accounts` ({id, email, name, email_verified, roles}); a test
// makes its own, so tests running at once do not meet.
//
// It prints "ready <issuer>" on stdout once it listens.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3] || '[]');
const issuer = `http://127.0.0.1:${port}`;
const accounts = new Map();

function byHint(hint) {
  if (!hint) return undefined;
  if (accounts.has(hint)) return accounts.get(hint);
  for (const a of accounts.values()) if (a.email === hint) return a;
  return undefined;
}

const provider = new Provider(issuer, {
  clients,
  // Claims go into the ID token as well as to userinfo, as Entra ID and
  // Google put e-mail and name there.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    roles: ['roles'],
  },
  scopes: ['openid', 'email', 'profile', 'roles', 'offline_access', 'mail'],
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        // Sign out without asking: submit the provider's own form at once.
        ctx.body = `<!DOCTYPE html><html><body>${form}<script>document.forms[0].submit()</script></body></html>`;
      },
    },
  },
  pkce: { required: () => true },
  ttl: { AccessToken: 300, ClientCredentials: Number(process.env.OIDC_CC_TTL || 300), IdToken: 300, Session: 3600, Interaction: 600, Grant: 3600 },
  async findAccount(ctx, id) {
    const a = accounts.get(id);
    if (!a || a.disabled) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: a.email,
          email_verified: a.email_verified !== false,
          name: a.name,
          roles: a.roles || [],
        };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/test/accounts') {
    const a = await body(ctx.req);
    accounts.set(a.id, { ...(accounts.get(a.id) || {}), ...a });
    ctx.status = 204;
    return;
  }
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (ctx.method === 'GET' && m) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params } = details;
    let result;
    if (prompt.name === 'login') {
      const a = byHint(params.login_hint);
      if (!a) {
        result = { error: 'access_denied', error_description: `no test account for '${params.login_hint}'` };
      } else {
        result = { login: { accountId: a.id } };
      }
    } else if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      grant.addOIDCScope(String(params.scope));
      const missing = details.prompt.details.missingOIDCClaims;
      if (missing) grant.addOIDCClaims(missing);
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
    return;
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
