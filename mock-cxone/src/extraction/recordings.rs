//! `recording-interaction-metadata` version 7: one row per recorded contact, with the recording
//! segment's times and its file name as CXone names recordings:
//! `<UTC YYYY-MM-DD-HH-MM-SS>_<masterContactId>_<VOICE|SCREEN>_<segmentId>.mp4`.

use chrono::Duration;

use super::csv::{CsvWriter, Field};
use super::results::Extract;
use crate::download::generate::contacts::Contact;
use crate::store::time::Instant;

/// The recorded segment of a contact: from the agent's answer to the end of talk and hold.
pub fn segment(c: &Contact) -> (Instant, Instant) {
    let start = c.start + Duration::seconds(c.pre_queue_seconds + c.in_queue_seconds);
    (start, start + Duration::seconds(c.agent_seconds + c.hold_seconds))
}

/// `VOICE` for voice contacts; digital contacts are screen recordings.
pub fn recording_media(c: &Contact) -> &'static str {
    if c.is_voice() {
        "VOICE"
    } else {
        "SCREEN"
    }
}

/// The recording's file name.
pub fn file_name(c: &Contact, segment_start: Instant, segment_id: &str) -> String {
    format!(
        "{}_{}_{}_{segment_id}.mp4",
        segment_start.format("%Y-%m-%d-%H-%M-%S"),
        c.master_contact_id,
        recording_media(c)
    )
}

/// Writes one row per recorded contact of the range whose recording had ended by `as_of`.
pub fn write(x: &Extract<'_>, w: &mut CsvWriter) {
    for c in x.contacts().filter(|c| c.recorded) {
        let (start, end) = segment(&c);
        if end > x.as_of {
            continue;
        }
        let segment_id = x.segment_id(c.contact_id);
        let voice = c.is_voice();
        w.row(&[
            c.contact_id.into(),
            c.master_contact_id.into(),
            segment_id.clone().into(),
            voice.then(|| c.call_uuid.clone()).into(),
            (!voice).then(|| c.interaction_id.clone()).into(),
            c.media_type.into(),
            recording_media(&c).into(),
            c.direction.into(),
            c.start.into(),
            start.into(),
            end.into(),
            (c.agent_seconds + c.hold_seconds).into(),
            c.hold_seconds.into(),
            c.agent_id.into(),
            c.team_id.into(),
            c.skill_id.into(),
            c.skill_name.into(),
            c.ani.clone().into(),
            c.dnis.clone().into(),
            c.disposition.into(),
            Field::Text(file_name(&c, start, &segment_id)),
        ]);
    }
}
