#!/usr/bin/env bash
# Installs the Debian packages leaf-edge needs, if any are missing (apt-get, as root or via sudo).
#   libportaudio2  PortAudio, which sounddevice opens microphones through
#   libsndfile1    the codec library behind soundfile (WAV/FLAC reading and writing)
#   espeak-ng, flite, festival + voices   text-to-speech engines for the built-in keyword set
#                  (festival's other languages: the accents of `data keywords --accent-share`)
#   fluidsynth + General MIDI sound fonts, timidity + freepats
#                  the renderers and sample sets of the built-in instrument set
#   pulseaudio, pulseaudio-utils, libasound2-plugins, alsa-utils, sox
#                  the virtual microphone that the tests feed speech into (tests/tools/virtual-mic.sh)
#   g++            builds pyworld (WORLD resynthesis for `data keywords --resynthesis-share`; PyPI has no wheel)
set -euo pipefail

packages=(
  libportaudio2 libsndfile1
  espeak-ng flite festival festlex-cmu festlex-poslex festvox-kallpc16k festvox-kdlpc16k
  festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-krb festvox-czech-machac festvox-czech-ph
  festvox-ru festvox-suopuhe-lj festvox-suopuhe-mv festvox-ca-ona-hts
  fluidsynth fluid-soundfont-gm opl3-soundfont csound-soundfont timgm6mb-soundfont timidity freepats
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox
  g++
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "leaf-edge: please install these system packages: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
