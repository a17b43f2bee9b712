#!/usr/bin/env bash
# macOS: sign (when a Developer ID identity is given), put InboxReady.app in a .dmg, notarize and staple
# (when notarization credentials are given). Run after PyInstaller has written DIST/InboxReady.app.
#
#   packaging/macos/build-dmg.sh DIST VERSION
#
# Environment (all optional; each step is skipped cleanly when its variables are empty):
#   MACOS_SIGN_IDENTITY        "Developer ID Application: Name (TEAMID)" in the login/CI keychain
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD   (app-specific password)
# Writes DIST/InboxReady-VERSION-macos-ARCH.dmg and prints its path.
set -euo pipefail
dist="$1"; version="$2"
here="$(cd "$(dirname "$0")" && pwd)"
app="$dist/InboxReady.app"
arch="$(uname -m)"
dmg="$dist/InboxReady-$version-macos-$arch.dmg"
[ -d "$app" ] || { echo "no $app: run PyInstaller with packaging/inboxready.spec first" >&2; exit 1; }

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  echo "signing $app"
  # Hardened runtime (needed for notarization); Python and Qt need no extra entitlements beyond these.
  codesign --force --deep --timestamp --options runtime \
    --entitlements "$here/entitlements.plist" --sign "$MACOS_SIGN_IDENTITY" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
else
  echo "no MACOS_SIGN_IDENTITY: the app is not signed (Gatekeeper will ask the user to confirm)"
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"   # drag-to-install
rm -f "$dmg"
hdiutil create -volname "InboxReady $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg" >/dev/null

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$dmg"
fi
if [ -n "${MACOS_SIGN_IDENTITY:-}" ] && [ -n "${MACOS_NOTARY_APPLE_ID:-}" ] && [ -n "${MACOS_NOTARY_PASSWORD:-}" ] \
   && [ -n "${MACOS_NOTARY_TEAM_ID:-}" ]; then
  echo "notarizing $dmg"
  xcrun notarytool submit "$dmg" --apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID" \
    --password "$MACOS_NOTARY_PASSWORD" --wait
  xcrun stapler staple "$dmg"
else
  echo "no notarization credentials: the .dmg is not notarized"
fi
echo "$dmg"
