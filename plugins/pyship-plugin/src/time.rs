//! Seconds since the epoch (`SOURCE_DATE_EPOCH`) as the calendar dates archives, changelogs
//! and SBOMs write, in UTC.

/// A moment in UTC, broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 for Monday … 6 for Sunday.
    pub weekday: u32,
}

impl Civil {
    /// The date of `epoch` (Howard Hinnant's days-to-civil algorithm).
    pub fn of(epoch: u64) -> Civil {
        let days = (epoch / 86_400) as i64;
        let seconds = (epoch % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        } as u32;
        Civil {
            year: year_of_era + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: seconds / 3600,
            minute: seconds % 3600 / 60,
            second: seconds % 60,
            // 1970-01-01 was a Thursday.
            weekday: ((days + 3).rem_euclid(7)) as u32,
        }
    }

    /// `2023-11-14T22:13:20Z` (RFC 3339, as CycloneDX and SPDX write times).
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `Tue, 14 Nov 2023 22:13:20 +0000` (RFC 2822, as Debian changelogs write times).
    pub fn rfc2822(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
            DAYS[self.weekday as usize],
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_the_calendar_s() {
        assert_eq!(Civil::of(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Civil::of(1_700_000_000).rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(
            Civil::of(1_700_000_000).rfc2822(),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
        assert_eq!(Civil::of(951_782_400).rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(Civil::of(0).rfc2822(), "Thu, 01 Jan 1970 00:00:00 +0000");
    }
}
