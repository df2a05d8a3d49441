//! Tiny, valid MP4 files that stand in for NICE CXone call recordings.
//!
//! The mock serves "recordings" through its SEA S3 endpoint and Data Download
//! API, and the clients under test download, hash and sometimes open them. Real
//! CXone recordings are MP4 files, so the stand-ins are too: each one is a
//! complete ISO BMFF file (`ftyp`, `moov`, `mdat`) with a single AAC-LC mono
//! 16 kHz audio track of silence, which a media player (ffmpeg, VLC, a
//! browser) opens and plays for the requested duration.
//!
//! The file is a pure function of `(seed, duration_ms)`: the same inputs always
//! give byte-identical output, so a scenario can recompute the expected SHA-256
//! of any recording without storing it. The seed is written into a `udta`
//! comment, so different seeds give different bytes (and hashes).
//!
//! Silence keeps the files small: an AAC frame with no spectral data is four
//! bytes and covers 64 ms, so a three-second recording is well under 1 KiB.
//! That matters because benchmarks generate and hash very many of them.

/// Audio sample rate, in Hz. Also the media timescale of the track.
const SAMPLE_RATE: u32 = 16_000;

/// PCM samples decoded from one AAC-LC frame.
const FRAME_SAMPLES: u32 = 1024;

/// Movie timescale (`mvhd`, `tkhd`): milliseconds.
const MOVIE_TIMESCALE: u32 = 1000;

/// Longest recording generated (24 hours); longer requests are clamped so the
/// 32-bit durations of version-0 boxes cannot overflow.
const MAX_DURATION_MS: u32 = 24 * 60 * 60 * 1000;

/// One AAC-LC `raw_data_block()` that decodes to 1024 samples of silence.
///
/// Bit layout: `SCE` element (`000`), instance tag 0 (`0000`), global gain 160
/// (`10100000`), `ics_info` with a long window, sine/KBD shape bit set and
/// `max_sfb = 0` (so no sections, scale factors or spectral data), no pulse,
/// TNS or gain control data, then the `END` element (`111`).
const SILENT_FRAME: [u8; 4] = [0x01, 0x40, 0x20, 0x07];

/// MPEG-4 `AudioSpecificConfig`: object type 2 (AAC-LC), sampling frequency
/// index 8 (16 kHz), channel configuration 1 (mono), 1024-sample frames.
const AUDIO_SPECIFIC_CONFIG: [u8; 2] = [0x14, 0x08];

/// ISO 639-2 "und" packed as three 5-bit letters, as `mdhd` and `udta` want.
const LANGUAGE_UND: u16 = 0x55C4;

/// Identity transformation matrix used by `mvhd` and `tkhd` (16.16 and 2.30
/// fixed point).
const IDENTITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Generates a playable MP4 recording of `duration_ms` milliseconds of silence.
///
/// The file has one AAC-LC mono 16 kHz audio track (`mp4a`/`esds`), its
/// movie and track durations equal `duration_ms` exactly, and the decoded
/// audio is that long rounded up to the next 64 ms frame. The output depends
/// only on `seed` and `duration_ms`: equal inputs give byte-identical files,
/// and different seeds give different files. `duration_ms` is clamped to
/// 1 ms ..= 24 h. A 3 s recording is 846 bytes.
pub fn recording_mp4(seed: u64, duration_ms: u32) -> Vec<u8> {
    let duration_ms = duration_ms.clamp(1, MAX_DURATION_MS);
    // At most 86.4e6 ms * 16 samples/ms = 1.38e9, which fits a u32.
    let media_samples = duration_ms * (SAMPLE_RATE / 1000);
    let frames = media_samples.div_ceil(FRAME_SAMPLES);
    let last_frame_samples = media_samples - (frames - 1) * FRAME_SAMPLES;
    let track = Track {
        duration_ms,
        media_samples,
        frames,
        last_frame_samples,
    };

    let payload_len = to_usize(frames) * SILENT_FRAME.len();
    let mut w = Writer {
        buf: Vec::with_capacity(1024 + payload_len),
    };

    write_ftyp(&mut w);
    let chunk_offset_at = write_moov(&mut w, &track, seed);
    let mdat_start = w.open(b"mdat");
    let payload_start = w.buf.len();
    for _ in 0..frames {
        w.bytes(&SILENT_FRAME);
    }
    w.close(mdat_start);
    w.patch_u32(chunk_offset_at, to_u32(payload_start));
    w.buf
}

/// Timing of the single audio track.
struct Track {
    /// Movie and track duration, in `MOVIE_TIMESCALE` units.
    duration_ms: u32,
    /// Media duration, in `SAMPLE_RATE` units.
    media_samples: u32,
    /// Number of AAC frames (MP4 samples), all in one chunk.
    frames: u32,
    /// Duration of the last frame in the `stts` table (1 ..= 1024), so the
    /// media duration is exact rather than rounded up to a whole frame.
    last_frame_samples: u32,
}

/// Appends big-endian fields and size-prefixed boxes to one growing buffer.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    fn zeros(&mut self, count: usize) {
        self.buf.resize(self.buf.len() + count, 0);
    }

    /// Starts a box whose size is filled in by [`Writer::close`]; returns its
    /// start offset.
    fn open(&mut self, kind: &[u8; 4]) -> usize {
        let start = self.buf.len();
        self.u32(0);
        self.bytes(kind);
        start
    }

    /// Writes the size of the box that starts at `start` and ends here.
    fn close(&mut self, start: usize) {
        let size = to_u32(self.buf.len() - start);
        self.patch_u32(start, size);
    }

    fn patch_u32(&mut self, at: usize, value: u32) {
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
    }

    /// Writes a box whose body is produced by `body`, and returns what `body`
    /// returns.
    fn boxed<R>(&mut self, kind: &[u8; 4], body: impl FnOnce(&mut Self) -> R) -> R {
        let start = self.open(kind);
        let result = body(self);
        self.close(start);
        result
    }

    /// Writes a "full box": a box whose body starts with version and flags.
    fn full_boxed<R>(&mut self, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Self) -> R) -> R {
        self.boxed(kind, |w| {
            w.u32(u32::from(version) << 24 | (flags & 0x00FF_FFFF));
            body(w)
        })
    }

    /// Writes an MPEG-4 descriptor (tag, one-byte length, body), as used
    /// inside `esds`. All descriptors here are shorter than 128 bytes.
    fn descriptor(&mut self, tag: u8, body: impl FnOnce(&mut Self)) {
        self.bytes(&[tag, 0]);
        let start = self.buf.len();
        body(self);
        let len = u8::try_from(self.buf.len() - start).unwrap_or(0x7F) & 0x7F;
        if let Some(slot) = self.buf.get_mut(start - 1) {
            *slot = len;
        }
    }

    fn matrix(&mut self) {
        for value in IDENTITY_MATRIX {
            self.u32(value);
        }
    }
}

fn write_ftyp(w: &mut Writer) {
    w.boxed(b"ftyp", |w| {
        w.bytes(b"isom");
        w.u32(0x200);
        for brand in [b"isom", b"iso2", b"mp41"] {
            w.bytes(brand);
        }
    });
}

/// Writes the `moov` box and returns the offset of the `stco` chunk offset,
/// which can only be filled in once the position of `mdat` is known.
fn write_moov(w: &mut Writer, track: &Track, seed: u64) -> usize {
    w.boxed(b"moov", |w| {
        w.full_boxed(b"mvhd", 0, 0, |w| {
            w.u32(0); // creation_time
            w.u32(0); // modification_time
            w.u32(MOVIE_TIMESCALE);
            w.u32(track.duration_ms);
            w.u32(0x0001_0000); // rate 1.0
            w.u16(0x0100); // volume 1.0
            w.zeros(2 + 8); // reserved
            w.matrix();
            w.zeros(24); // pre_defined
            w.u32(2); // next_track_ID
        });
        let chunk_offset_at = w.boxed(b"trak", |w| {
            w.full_boxed(b"tkhd", 0, 0x3, |w| {
                // flags: track enabled, in movie
                w.u32(0); // creation_time
                w.u32(0); // modification_time
                w.u32(1); // track_ID
                w.u32(0); // reserved
                w.u32(track.duration_ms);
                w.zeros(8); // reserved
                w.u16(0); // layer
                w.u16(0); // alternate_group
                w.u16(0x0100); // volume 1.0
                w.u16(0); // reserved
                w.matrix();
                w.u32(0); // width
                w.u32(0); // height
            });
            w.boxed(b"mdia", |w| {
                w.full_boxed(b"mdhd", 0, 0, |w| {
                    w.u32(0); // creation_time
                    w.u32(0); // modification_time
                    w.u32(SAMPLE_RATE);
                    w.u32(track.media_samples);
                    w.u16(LANGUAGE_UND);
                    w.u16(0); // pre_defined
                });
                w.full_boxed(b"hdlr", 0, 0, |w| {
                    w.u32(0); // pre_defined
                    w.bytes(b"soun");
                    w.zeros(12); // reserved
                    w.bytes(b"SoundHandler\0");
                });
                w.boxed(b"minf", |w| {
                    w.full_boxed(b"smhd", 0, 0, |w| {
                        w.u16(0); // balance
                        w.u16(0); // reserved
                    });
                    write_dinf(w);
                    write_stbl(w, track)
                })
            })
        });
        write_udta(w, seed);
        chunk_offset_at
    })
}

/// Data information: the media data is in this file.
fn write_dinf(w: &mut Writer) {
    w.boxed(b"dinf", |w| {
        w.full_boxed(b"dref", 0, 0, |w| {
            w.u32(1); // entry_count
            w.full_boxed(b"url ", 0, 0x1, |_| {}); // flag 1: self-contained
        });
    });
}

/// Sample table: one AAC sample description, every frame 1024 samples long
/// (except possibly the last), the same size, and all in one chunk. Returns
/// the offset of the chunk offset field.
fn write_stbl(w: &mut Writer, track: &Track) -> usize {
    w.boxed(b"stbl", |w| {
        w.full_boxed(b"stsd", 0, 0, |w| {
            w.u32(1); // entry_count
            write_mp4a(w);
        });
        w.full_boxed(b"stts", 0, 0, |w| {
            if track.last_frame_samples == FRAME_SAMPLES {
                w.u32(1);
                w.u32(track.frames);
                w.u32(FRAME_SAMPLES);
            } else if track.frames == 1 {
                w.u32(1);
                w.u32(1);
                w.u32(track.last_frame_samples);
            } else {
                w.u32(2);
                w.u32(track.frames - 1);
                w.u32(FRAME_SAMPLES);
                w.u32(1);
                w.u32(track.last_frame_samples);
            }
        });
        w.full_boxed(b"stsc", 0, 0, |w| {
            w.u32(1); // entry_count
            w.u32(1); // first_chunk
            w.u32(track.frames); // samples_per_chunk
            w.u32(1); // sample_description_index
        });
        w.full_boxed(b"stsz", 0, 0, |w| {
            w.u32(to_u32(SILENT_FRAME.len())); // sample_size: all equal
            w.u32(track.frames); // sample_count
        });
        w.full_boxed(b"stco", 0, 0, |w| {
            w.u32(1); // entry_count
            let at = w.buf.len();
            w.u32(0); // chunk_offset, patched once mdat is placed
            at
        })
    })
}

/// AAC audio sample entry with its elementary stream descriptor.
fn write_mp4a(w: &mut Writer) {
    let frame_bits = to_u32(SILENT_FRAME.len()) * 8;
    let bitrate = frame_bits * SAMPLE_RATE / FRAME_SAMPLES;
    w.boxed(b"mp4a", |w| {
        w.zeros(6); // reserved
        w.u16(1); // data_reference_index
        w.zeros(8); // reserved (version, revision, vendor)
        w.u16(1); // channelcount
        w.u16(16); // samplesize
        w.u16(0); // pre_defined
        w.u16(0); // reserved
        w.u32(SAMPLE_RATE << 16); // samplerate, 16.16 fixed point
        w.full_boxed(b"esds", 0, 0, |w| {
            w.descriptor(0x03, |w| {
                // ES_Descriptor
                w.u16(0); // ES_ID (0 inside MP4 files)
                w.bytes(&[0]); // no dependency, URL or OCR stream; priority 0
                w.descriptor(0x04, |w| {
                    // DecoderConfigDescriptor
                    w.bytes(&[0x40]); // objectTypeIndication: MPEG-4 audio
                    w.bytes(&[0x05 << 2 | 0x1]); // streamType audio, reserved 1
                    w.bytes(&[0, 0, 4]); // bufferSizeDB: largest frame
                    w.u32(bitrate); // maxBitrate
                    w.u32(bitrate); // avgBitrate

                    // DecoderSpecificInfo
                    w.descriptor(0x05, |w| w.bytes(&AUDIO_SPECIFIC_CONFIG));
                });
                // SLConfigDescriptor: predefined for MP4 files
                w.descriptor(0x06, |w| w.bytes(&[0x02]));
            });
        });
    });
}

/// User data carrying the seed as a QuickTime-style comment (`©cmt`), which
/// makes each seed's file distinct and shows up as the "comment" tag.
fn write_udta(w: &mut Writer, seed: u64) {
    w.boxed(b"udta", |w| {
        w.boxed(&[0xA9, b'c', b'm', b't'], |w| {
            const PREFIX: &[u8] = b"mock-cxone recording seed=";
            let hex = hex_u64(seed);
            w.u16(to_u16(PREFIX.len() + hex.len()));
            w.u16(LANGUAGE_UND);
            w.bytes(PREFIX);
            w.bytes(&hex);
        });
    });
}

/// `value` as 16 lowercase hex digits, without allocating.
fn hex_u64(value: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, digit) in out.iter_mut().enumerate() {
        let nibble = (value >> (60 - 4 * i)) & 0xF;
        *digit = DIGITS[nibble as usize];
    }
    out
}

/// Box sizes and offsets here are bounded by `MAX_DURATION_MS` and fit a
/// u32; saturate rather than panic if that ever stops being true.
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn to_u16(value: usize) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box found by [`boxes`]: type, start offset, and total size.
    #[derive(Debug, Clone, Copy)]
    struct Bx {
        kind: [u8; 4],
        start: usize,
        size: usize,
    }

    impl Bx {
        fn end(&self) -> usize {
            self.start + self.size
        }
    }

    fn be32(data: &[u8], at: usize) -> u32 {
        let bytes: [u8; 4] = data[at..at + 4].try_into().expect("4 bytes");
        u32::from_be_bytes(bytes)
    }

    /// Walks the boxes laid end to end in `data[from..to]`, checking each
    /// size is at least a header and stays inside the range.
    fn boxes(data: &[u8], from: usize, to: usize) -> Vec<Bx> {
        let mut found = Vec::new();
        let mut at = from;
        while at < to {
            assert!(at + 8 <= to, "truncated box header at {at}");
            let size = be32(data, at) as usize;
            assert!(size >= 8 && at + size <= to, "bad box size {size} at {at}");
            let kind = data[at + 4..at + 8].try_into().expect("4 bytes");
            found.push(Bx { kind, start: at, size });
            at += size;
        }
        assert_eq!(at, to, "boxes do not fill their parent exactly");
        found
    }

    /// Follows a path of container boxes from the top level.
    fn find(data: &[u8], path: &[&[u8; 4]]) -> Bx {
        let (mut from, mut to) = (0, data.len());
        let mut current = None;
        for kind in path {
            let bx = boxes(data, from, to)
                .into_iter()
                .find(|b| &b.kind == *kind)
                .unwrap_or_else(|| panic!("no {:?} box", String::from_utf8_lossy(*kind)));
            (from, to) = (bx.start + 8, bx.end());
            current = Some(bx);
        }
        current.expect("non-empty path")
    }

    const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

    fn stbl_child(data: &[u8], kind: &[u8; 4]) -> Bx {
        let stbl = find(data, &STBL);
        boxes(data, stbl.start + 8, stbl.end())
            .into_iter()
            .find(|b| &b.kind == kind)
            .expect("stbl child")
    }

    #[test]
    fn same_seed_gives_identical_bytes() {
        assert_eq!(recording_mp4(42, 3000), recording_mp4(42, 3000));
        assert_eq!(recording_mp4(0, 1), recording_mp4(0, 1));
    }

    #[test]
    fn different_seeds_differ() {
        let a = recording_mp4(1, 3000);
        let b = recording_mp4(2, 3000);
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b);
        assert_ne!(recording_mp4(u64::MAX, 3000), recording_mp4(0, 3000));
    }

    #[test]
    fn three_second_recording_is_small() {
        let len = recording_mp4(7, 3000).len();
        assert!(len < 1024, "{len} bytes");
    }

    #[test]
    fn top_level_is_ftyp_moov_mdat_covering_the_file() {
        for (seed, ms) in [(0, 1), (1, 64), (2, 65), (3, 3000), (4, 600_000)] {
            let data = recording_mp4(seed, ms);
            let top = boxes(&data, 0, data.len());
            let kinds: Vec<&[u8; 4]> = top.iter().map(|b| &b.kind).collect();
            assert_eq!(kinds, [b"ftyp", b"moov", b"mdat"]);
            assert_eq!(top.iter().map(|b| b.size).sum::<usize>(), data.len());
            assert_eq!(&data[8..12], b"isom");
        }
    }

    #[test]
    fn nested_structure_parses() {
        let data = recording_mp4(9, 3000);
        let minf = find(&data, &[b"moov", b"trak", b"mdia", b"minf"]);
        let kinds: Vec<[u8; 4]> = boxes(&data, minf.start + 8, minf.end())
            .iter()
            .map(|b| b.kind)
            .collect();
        assert_eq!(kinds, [*b"smhd", *b"dinf", *b"stbl"]);
        let stbl = find(&data, &STBL);
        let kinds: Vec<[u8; 4]> = boxes(&data, stbl.start + 8, stbl.end())
            .iter()
            .map(|b| b.kind)
            .collect();
        assert_eq!(kinds, [*b"stsd", *b"stts", *b"stsc", *b"stsz", *b"stco"]);
        let hdlr = find(&data, &[b"moov", b"trak", b"mdia"]);
        let hdlr = boxes(&data, hdlr.start + 8, hdlr.end())
            .into_iter()
            .find(|b| &b.kind == b"hdlr")
            .expect("hdlr");
        assert_eq!(&data[hdlr.start + 16..hdlr.start + 20], b"soun");
    }

    #[test]
    fn chunk_offset_points_at_the_frames_in_mdat() {
        for ms in [1, 1000, 3000, 3001, 86_400_000] {
            let data = recording_mp4(5, ms);
            let mdat = find(&data, &[b"mdat"]);
            let stco = stbl_child(&data, b"stco");
            assert_eq!(be32(&data, stco.start + 12), 1, "one chunk");
            let offset = be32(&data, stco.start + 16) as usize;
            assert_eq!(offset, mdat.start + 8, "chunk starts the mdat payload");

            let stsz = stbl_child(&data, b"stsz");
            let sample_size = be32(&data, stsz.start + 12) as usize;
            let frames = be32(&data, stsz.start + 16) as usize;
            assert_eq!(offset + sample_size * frames, mdat.end());
            assert_eq!(&data[offset..offset + 4], &SILENT_FRAME);
        }
    }

    #[test]
    fn durations_are_consistent() {
        for ms in [1, 63, 64, 65, 1000, 3000, 86_400_000, u32::MAX] {
            let data = recording_mp4(3, ms);
            let expected_ms = ms.clamp(1, MAX_DURATION_MS);
            let mvhd = find(&data, &[b"moov", b"mvhd"]);
            assert_eq!(be32(&data, mvhd.start + 20), MOVIE_TIMESCALE);
            assert_eq!(be32(&data, mvhd.start + 24), expected_ms);
            let mdhd = find(&data, &[b"moov", b"trak", b"mdia", b"mdhd"]);
            assert_eq!(be32(&data, mdhd.start + 20), SAMPLE_RATE);
            let media = be32(&data, mdhd.start + 24);
            assert_eq!(media, expected_ms * 16);

            // stts entries add up to the media duration and frame count.
            let stts = stbl_child(&data, b"stts");
            let entries = be32(&data, stts.start + 12) as usize;
            let (mut count, mut total) = (0u64, 0u64);
            for i in 0..entries {
                let n = u64::from(be32(&data, stts.start + 16 + 8 * i));
                let delta = u64::from(be32(&data, stts.start + 20 + 8 * i));
                assert!((1..=1024).contains(&delta));
                count += n;
                total += n * delta;
            }
            assert_eq!(total, u64::from(media));
            let stsz = stbl_child(&data, b"stsz");
            assert_eq!(count, u64::from(be32(&data, stsz.start + 16)));
        }
    }

    #[test]
    fn seed_is_written_as_hex() {
        assert_eq!(&hex_u64(0x0123_4567_89ab_cdef), b"0123456789abcdef");
        let data = recording_mp4(0xdead_beef, 3000);
        let needle = b"seed=00000000deadbeef";
        assert!(data.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn esds_carries_the_audio_specific_config() {
        let data = recording_mp4(0, 3000);
        let needle = [0x05, 0x02, AUDIO_SPECIFIC_CONFIG[0], AUDIO_SPECIFIC_CONFIG[1]];
        assert!(data.windows(4).any(|w| w == needle));
    }

    /// Writes sample files for checking with a real decoder, e.g.
    /// `MOCK_CXONE_MP4_DIR=/tmp/mp4out cargo test -p mock-cxone --lib
    /// storage::mp4 -- --ignored`, then open them with ffmpeg/ffprobe/PyAV.
    #[test]
    #[ignore = "writes files for an external decoder check"]
    fn write_samples_for_external_decoder() {
        let Ok(dir) = std::env::var("MOCK_CXONE_MP4_DIR") else {
            eprintln!("MOCK_CXONE_MP4_DIR not set; nothing written");
            return;
        };
        std::fs::create_dir_all(&dir).expect("create output dir");
        for (seed, ms) in [(1, 3000), (2, 3000), (3, 1), (4, 65), (5, 1024), (6, 60_000)] {
            let path = std::path::Path::new(&dir).join(format!("rec_{seed}_{ms}.mp4"));
            std::fs::write(&path, recording_mp4(seed, ms)).expect("write sample");
        }
    }
}
