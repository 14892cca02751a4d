// A strict relying party for loginguard's e2e tests: panva's certified openid-client does
// every check it knows (discovery, iss in the authorization response, PKCE, the ID
// token's signature and claims, userinfo's sub, refresh, end-session). One step per run:
// the JSON of argv[2] in, one JSON line out. The browser's part is the Python test's.
//
//   node strict_rp.mjs '{"step": "start", "issuer": ..., "client_id": ..., ...}'
import * as client from "openid-client";

const input = JSON.parse(process.argv[2]);

async function configuration() {
  // Plain http only because the test installation has no TLS; everything else is checked.
  return client.discovery(new URL(input.issuer), input.client_id, input.client_secret,
    client.ClientSecretBasic(input.client_secret),
    { execute: [client.allowInsecureRequests] });
}

function described(error) {
  return { error: error.constructor.name, code: error.code ?? null,
           oauth_error: error.error ?? null, message: error.message };
}

async function step(config) {
  switch (input.step) {
    case "start": {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: input.redirect_uri, scope: input.scope, state, nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256" });
      return { url: url.href, verifier, state, nonce };
    }
    case "callback": {
      const tokens = await client.authorizationCodeGrant(config, new URL(input.url), {
        pkceCodeVerifier: input.verifier, expectedState: input.state,
        expectedNonce: input.nonce, idTokenExpected: true });
      return { access_token: tokens.access_token, refresh_token: tokens.refresh_token,
               id_token: tokens.id_token, claims: tokens.claims() };
    }
    case "userinfo":
      return await client.fetchUserInfo(config, input.access_token, input.sub);
    case "refresh": {
      const tokens = await client.refreshTokenGrant(config, input.refresh_token);
      return { access_token: tokens.access_token, refresh_token: tokens.refresh_token,
               claims: tokens.claims() };
    }
    case "introspect":
      return await client.tokenIntrospection(config, input.token);
    case "end_session":
      return { url: client.buildEndSessionUrl(config, {
        id_token_hint: input.id_token, post_logout_redirect_uri: input.post_logout_redirect_uri,
        state: input.state }).href };
    default:
      throw new Error(`unknown step ${input.step}`);
  }
}

try {
  console.log(JSON.stringify(await step(await configuration())));
} catch (error) {
  console.log(JSON.stringify(described(error)));
}
