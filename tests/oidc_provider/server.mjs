// A real OpenID provider for the test suite: panva's oidc-provider on loopback.
//
//   node tests/oidc_provider/server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI...]
//
// Its development login form (devInteractions) accepts any login and password; the login becomes
// the subject (`sub`) and the address `<login>@example.org`. A login starting with "unverified"
// gets `email_verified: false`, so tests can check that such an address is never linked; one
// starting with "no-email" gets no address at all.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, ...redirectUris] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || redirectUris.length === 0) {
  console.error('usage: server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI...]');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // Authlib's default client authentication at the token endpoint.
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  features: {
    devInteractions: { enabled: true },
  },
  pkce: { methods: ['S256'], required: () => true },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        if (id.startsWith('no-email')) {
          return { sub: id, name: id };
        }
        return {
          sub: id,
          email: `${id}@example.org`,
          email_verified: !id.startsWith('unverified'),
          name: id,
        };
      },
    };
  },
  cookies: {
    // Served over plain http on loopback: Chromium drops `SameSite=None` cookies that are not
    // `Secure`, so the long-lived session cookie uses `Lax` like the short ones.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
    keys: ['test-only-cookie-signing-key-0123456789'],
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
