#!/usr/bin/env bash
# Install the fonts and the English word list that the synthetic data generator (ocrpipe/synth) draws from.
#
# Debian/Ubuntu only; run as root (or with sudo). Idempotent: packages already installed are skipped, so a second
# run costs one dpkg query. Packages missing from the configured archive are skipped with a note, so this works
# on Debian 12 (bookworm) and on newer releases where a few names have changed.
#
# The selection aims at variety of shapes rather than count: serif, sans, condensed, bold, mono, display, signage,
# typewriter and handwriting faces, each package moderately sized (the huge Noto/CJK sets are left out).
set -euo pipefail

PACKAGES=(
  # dictionary for real words (/usr/share/dict/words)
  wamerican
  # fontconfig gives fc-list, handy when inspecting what is installed
  fontconfig
  # sans-serif
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-open-sans fonts-lato fonts-roboto-unhinted
  fonts-cantarell fonts-crosextra-carlito fonts-freefont-ttf fonts-urw-base35 fonts-cabin fonts-karla fonts-go
  fonts-b612 fonts-oxygen fonts-tuffy fonts-clear-sans fonts-manrope fonts-sora fonts-junction fonts-paratype
  fonts-adf-gillius fonts-adf-universalis fonts-adf-verana fonts-arkpandora fonts-quicksand fonts-comfortaa
  fonts-dosis fonts-jura fonts-league-spartan fonts-eurofurence
  # condensed / signage / road signs / technical
  fonts-yanone-kaffeesatz fonts-opendin fonts-roadgeek fonts-national-park fonts-tiresias fonts-routed-gothic
  fonts-allerta fonts-play fonts-ocr-a fonts-ocr-b
  # serif / slab
  fonts-crosextra-caladea fonts-linuxlibertine fonts-ebgaramond fonts-oldstandard fonts-sil-gentium
  fonts-vollkorn fonts-roboto-slab fonts-quattrocento fonts-lindenhill fonts-arapey fonts-goudybookletter
  fonts-fanwood fonts-prociono fonts-adf-baskervald fonts-adf-accanthis fonts-adf-romande fonts-stix
  # monospace / typewriter
  fonts-inconsolata fonts-hack fonts-firacode fonts-anonymous-pro fonts-mononoki fonts-courier-prime
  fonts-gnutypewriter fonts-noto-mono
  # display
  fonts-lobster fonts-lobstertwo fonts-cherrybomb fonts-leckerli-one fonts-cabinsketch fonts-beteckna
  fonts-averia-gwf fonts-dustin fonts-okolaks fonts-summersby fonts-ferrite-core
  # handwriting / script
  fonts-dancingscript fonts-kaushanscript fonts-breip fonts-humor-sans fonts-comic-neue fonts-dkg-handwriting
  fonts-femkeklaver fonts-isabella fonts-kristi fonts-tomsontalks fonts-sjfonts
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_fonts: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Refresh the package index only when it is absent or a package is unknown to it.
available=()
for pkg in "${missing[@]}"; do
  if apt-cache show "$pkg" >/dev/null 2>&1; then available+=("$pkg"); fi
done
if [ ${#available[@]} -lt ${#missing[@]} ]; then
  $SUDO apt-get update -qq
  available=()
  for pkg in "${missing[@]}"; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then available+=("$pkg"); else echo "install_fonts: skipping $pkg (not in archive)"; fi
  done
fi

echo "install_fonts: installing ${#available[@]} packages"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
if command -v fc-cache >/dev/null; then fc-cache -f >/dev/null 2>&1 || true; fi
echo "install_fonts: done"
