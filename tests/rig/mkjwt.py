#!/usr/bin/env python3
"""mkjwt - mint an HS256 JWT bearer token for the rig's XOAUTH2/OAUTHBEARER.

SYNOPSIS
    mkjwt.py [--env DIR/rig.env | --key-b64 KEY] [--sub USER] [--lifetime S]
             [--exp T] [--nbf T] [--iat T] [--iss ISS] [--kid KID] [--azp AZP]
             [--alg HS256|HS384|HS512] [--wrong-key] [--sasl xoauth2|oauthbearer]

DESCRIPTION
    Prints a compact JWT signed with the rig's HMAC key (RIG_OAUTH_KEY_B64 in
    rig.env, base64).  Dovecot's oauth2 passdb validates it locally: header
    typ must be "JWT"; claims "sub" (the login name, compared case-folded) and
    "exp" are required; "nbf"/"iat" must not be in the future.  The rig's key
    is stored for azp="default", kid="default", alg HS256 only, so giving
    --kid, --azp or another --alg yields a token the server refuses (useful
    for negative tests), as do --wrong-key and an --exp in the past.

    With --sasl, prints the base64 SASL initial response instead of the token:
      xoauth2:      "user=USER^Aauth=Bearer TOKEN^A^A"
      oauthbearer:  "n,a=USER,^Aauth=Bearer TOKEN^A^A"   (RFC 7628)

    Also importable: mkjwt.mint(key_bytes, sub, ...) -> str.
    Python 3 standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
           "HS512": hashlib.sha512}


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(key, sub, lifetime=3600, alg="HS256", exp=None, nbf=None, iat=None,
         kid=None, azp=None, iss=None, extra=None):
    """Return a signed JWT (str).  key is the raw HMAC key (bytes)."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": alg}
    if kid is not None:
        header["kid"] = kid
    claims = {"sub": sub,
              "iat": now if iat is None else iat,
              "exp": now + lifetime if exp is None else exp}
    if nbf is not None:
        claims["nbf"] = nbf
    if azp is not None:
        claims["azp"] = azp
    if iss is not None:
        claims["iss"] = iss
    if extra:
        claims.update(extra)
    signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode())
                     + "." +
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = hmac.new(key, signing_input.encode("ascii"), _HASHES[alg]).digest()
    return signing_input + "." + _b64url(sig)


def sasl_xoauth2(user, token):
    """Raw (not base64) XOAUTH2 initial response."""
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()


def sasl_oauthbearer(user, token):
    """Raw (not base64) OAUTHBEARER initial response (RFC 7628)."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return ("n,a=%s,\x01auth=Bearer %s\x01\x01" % (authzid, token)).encode()


def _load_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                if len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1]
                env[k] = v
    return env


def main(argv=None):
    ap = argparse.ArgumentParser(description="Mint an HS256 JWT for the mailwire rig.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--env", help="rig.env to read RIG_OAUTH_KEY_B64/RIG_USER1 from")
    src.add_argument("--key-b64", help="HMAC key, base64")
    ap.add_argument("--sub", help="user name (default: RIG_USER1)")
    ap.add_argument("--lifetime", type=int, default=3600, help="seconds until exp")
    ap.add_argument("--exp", type=int, help="absolute exp (epoch seconds)")
    ap.add_argument("--nbf", type=int)
    ap.add_argument("--iat", type=int)
    ap.add_argument("--iss")
    ap.add_argument("--kid")
    ap.add_argument("--azp")
    ap.add_argument("--alg", default="HS256", choices=sorted(_HASHES))
    ap.add_argument("--wrong-key", action="store_true",
                    help="sign with a random key instead (server must refuse)")
    ap.add_argument("--sasl", choices=("xoauth2", "oauthbearer"),
                    help="print the base64 SASL initial response instead")
    a = ap.parse_args(argv)

    env = {}
    env_path = a.env or os.environ.get("RIG_ENV")
    if env_path:
        env = _load_env(env_path)
    key_b64 = a.key_b64 or env.get("RIG_OAUTH_KEY_B64") or os.environ.get("RIG_OAUTH_KEY_B64")
    if not key_b64:
        ap.error("no key: give --env DIR/rig.env or --key-b64")
    key = os.urandom(32) if a.wrong_key else base64.b64decode(key_b64)
    sub = a.sub or env.get("RIG_USER1") or os.environ.get("RIG_USER1")
    if not sub:
        ap.error("no user: give --sub")

    token = mint(key, sub, lifetime=a.lifetime, alg=a.alg, exp=a.exp,
                 nbf=a.nbf, iat=a.iat, kid=a.kid, azp=a.azp, iss=a.iss)
    if a.sasl == "xoauth2":
        print(base64.b64encode(sasl_xoauth2(sub, token)).decode())
    elif a.sasl == "oauthbearer":
        print(base64.b64encode(sasl_oauthbearer(sub, token)).decode())
    else:
        print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
