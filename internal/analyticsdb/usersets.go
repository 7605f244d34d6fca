package analyticsdb

import "strconv"

// userSets is a table of the users of a daily rollup's keys as bitmaps: a row per day, key and block of user
// numbers (see UserBlockSQL), whose bitmap has a bit per user of the block, and the sums of the rollup's counts
// over those users. Distinct users over a range are then an OR of a few bitmaps per key instead of a distinct
// count over a row per user and day: a plugin's users over two periods of 28 days are 56 bitmaps rather than
// thousands of rows. Blocks keep every bitmap one length (DuckDB ORs only bitmaps of one length) whatever the
// number of users. (Teams lists, with six users a day each, gained nothing: team comparison was slower.)
//
// The compaction builds a day's rows from the rollup's once it has merged them, in the same transaction: a day
// still marked in rollup_days for the rollup is pending here too, and readers aggregate its rollup rows instead
// (queryapi's userSets). Retention drops a day's rows with the rollup's, an erasure drops and marks the days of
// the user, and a rebuild of the rollups marks every day.
type userSets struct {
	table string
	keys  string // the key columns, as in the rollup
	sums  string // the sums of the rollup's counts
}

// userBlock is how many user numbers a block of a user set holds: 2,000 users fit one.
const userBlock = 2048

var userBlockBits = strconv.Itoa(userBlock)

// UserBlockSQL is the block of a user number column: user numbers 1 to 2,048 are block 0.
func UserBlockSQL(column string) string { return "(" + column + " - 1) // " + userBlockBits }

// UserBitsSQL aggregates a user number column into the bitmap of a block: a group must hold one block.
func UserBitsSQL(column string) string {
	return "bitstring_agg((" + column + " - 1) % " + userBlockBits + " + 1, 1, " + userBlockBits + ")"
}

// buildSQL computes the rows of one day ($1) of the user sets from its rollup's rows.
func (u *userSets) buildSQL(rollup string) string {
	return "INSERT INTO " + u.table + " SELECT day, " + u.keys + ", " + UserBlockSQL("user_no") + ", " + UserBitsSQL("user_no") + ", " + u.sums +
		" FROM " + rollup + " WHERE day = $1 GROUP BY ALL"
}

// markAllSQL marks every day of a rollup in rollup_days, for the compaction to build its user sets again.
func markAllSQL(rollup string) string {
	return "INSERT INTO rollup_days SELECT DISTINCT '" + rollup + "', day FROM " + rollup + " ON CONFLICT DO NOTHING"
}

// eraseSQL are the statements that drop a user's days from a rollup's user sets and mark them for the
// compaction, before the user's rollup rows go: until then readers aggregate the rollup's rows of those days.
func (u *userSets) eraseSQL(rollup, userFilter string) []string {
	days := "SELECT DISTINCT day FROM " + rollup + " WHERE " + userFilter
	return []string{
		"INSERT INTO rollup_days SELECT '" + rollup + "', day FROM (" + days + ") ON CONFLICT DO NOTHING",
		"DELETE FROM " + u.table + " WHERE day IN (" + days + ")",
	}
}
