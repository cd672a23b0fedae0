#!/usr/bin/env bash
# Sign "MedMitra Desktop.app" for distribution outside the App Store: every Mach-O file
# inside (Python, Qt, PDFium, the bundled Tesseract and its libraries), innermost first,
# then each .framework, then the app itself, all with the hardened runtime and a secure
# timestamp (both required for notarization); entitlements for the executables.
#
#   build/macos/sign_app.sh "build/dist/MedMitra Desktop.app" "Developer ID Application: NAME (TEAMID)"
#
# The identity must be in a keychain on the search list (the release workflow imports it
# from the MACOS_CERTIFICATE_P12_BASE64 secret into a temporary keychain).
set -euo pipefail

app=${1:?usage: sign_app.sh APP IDENTITY}
identity=${2:?usage: sign_app.sh APP IDENTITY}
entitlements="$(cd "$(dirname "$0")" && pwd)/entitlements.plist"
sign=(codesign --force --timestamp --options runtime --sign "$identity")

list=$(mktemp)
trap 'rm -f "$list"' EXIT
# Mach-O files only (not symlinks), longest paths first: nested code before its container.
find "$app/Contents" -type f -print0 | while IFS= read -r -d '' file; do
    kind=$(file -b "$file")
    case "$kind" in
        *Mach-O*executable*) printf '%s\texecutable\t%s\n' "${#file}" "$file" ;;
        *Mach-O*) printf '%s\tlibrary\t%s\n' "${#file}" "$file" ;;
    esac
done | sort -rn | cut -f2- > "$list"

count=0
while IFS=$'\t' read -r kind file; do
    if [[ $kind == executable ]]; then
        "${sign[@]}" --entitlements "$entitlements" "$file"   # the app, tesseract
    else
        "${sign[@]}" "$file"
    fi
    count=$((count + 1))
done < "$list"

# Framework bundles (Qt) are sealed as a whole once their binaries are signed.
find "$app/Contents" -type d -name "*.framework" -prune -print0 |
    while IFS= read -r -d '' framework; do "${sign[@]}" "$framework"; done

"${sign[@]}" --entitlements "$entitlements" "$app"
codesign --verify --deep --strict --verbose=2 "$app"
echo "signed $count Mach-O files and $app as: $identity"
