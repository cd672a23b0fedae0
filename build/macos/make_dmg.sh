#!/usr/bin/env bash
# Pack "MedMitra Desktop.app" into a compressed disk image with a link to /Applications
# (drag to install).
#
#   build/macos/make_dmg.sh "build/dist/MedMitra Desktop.app" build/dist/MedMitra-Desktop-0.1.0-macos-arm64.dmg
set -euo pipefail

app=${1:?usage: make_dmg.sh APP DMG}
dmg=${2:?usage: make_dmg.sh APP DMG}
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

ditto "$app" "$staging/$(basename "$app")"   # keeps symlinks, signatures and attributes
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "MedMitra Desktop" -srcfolder "$staging" -fs HFS+ -format UDZO \
    -imagekey zlib-level=9 "$dmg"
hdiutil verify "$dmg"
echo "made $dmg"
