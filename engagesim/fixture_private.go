package engagesim

// The demo fixture's private meetings: what a lobby screen must not show.
// They are chosen from the finished fixture by booking id, without drawing
// from its random numbers, so the rest of the demo data stays as it was.

// privateEvery makes every privateEvery-th booking (by id) private.
const privateEvery = 9

// privateTitles are the titles of the demo's private meetings: the kind a
// lobby screen must not show.
func privateTitles() []string {
	return []string{
		"Redundancy consultation", "Acquisition due diligence: Project Falcon", "Disciplinary hearing",
		"Salary review", "Board: CEO succession", "Medical leave return meeting", "Layoff planning",
	}
}

// markPrivate makes some of f's bookings private, with sensitive titles;
// each has an assistant as its creator (for booking id/privateEvery odd)
// or as its requestor (even), so every way of being in a meeting is in the
// demo data. The visits for those meetings carry the new titles too.
func markPrivate(f *Fixture) {
	if len(f.Users) < 2 {
		return
	}
	titles := map[int]string{}
	pool := privateTitles()
	for i := range f.Bookings {
		b := &f.Bookings[i]
		if b.ID%privateEvery != 0 {
			continue
		}
		n := b.ID / privateEvery
		b.Private = true
		b.Title = pool[n%len(pool)]
		assistant := f.Users[n%len(f.Users)].ID
		if assistant == b.UserID {
			assistant = f.Users[(n+1)%len(f.Users)].ID
		}
		if n%2 == 1 {
			b.CreatorID = assistant
		} else {
			b.RequestorID = assistant
		}
		titles[b.ID] = b.Title
	}
	for i := range f.Visitors {
		if t, ok := titles[f.Visitors[i].BookingID]; ok {
			f.Visitors[i].MeetingName = t
		}
	}
}
