/* Gates at crash points: the in-process fault hook (fault builds) holds
 * the thread that took a gate's role when it passes the gate's point,
 * tells the test it got there, and lets it go on when the test opens the
 * gate. The hook never reports a death: the call goes on as if nothing
 * happened, only later. Every other thread passes freely. A gate armed
 * with hr_gate_fail_at() holds nobody: the call fails there instead, as
 * if its step had got no answer. */
#include "hr.h"
#include "internal.h"

#include <pthread.h>
#include <string.h>

typedef struct {
	const char *point; /* NULL: disarmed */
	int role;
	int reached, done, open;
	int fail; /* fail the call there instead of holding it */
} gate;

static pthread_mutex_t gm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gc = PTHREAD_COND_INITIALIZER;
static gate gates[HR_GATES];

static _Thread_local int my_role;

static int hook(const char *point, void *payload)
{
	int i, fail = 0;

	(void)payload;
	pthread_mutex_lock(&gm);
	for (i = 0; i < HR_GATES; i++) {
		gate *g = &gates[i];
		if (!g->point || my_role != g->role ||
		    strcmp(point, g->point) != 0 || g->reached)
			continue;
		g->reached = 1;
		pthread_cond_broadcast(&gc);
		fail = g->fail;
		while (!g->open && !fail)
			pthread_cond_wait(&gc, &gm);
		break;
	}
	pthread_mutex_unlock(&gm);
	return fail;
}

int hr_gate_usable(void)
{
	return SB_FAULT_INJECTION && hr.generic;
}

void hr_gate_init(void)
{
	/* Set once, before any thread starts: the core reads it unlocked. */
	if (SB_FAULT_INJECTION)
		sb__fault_set_hook(hook, NULL);
}

void hr_gate_role(int role)
{
	my_role = role;
}

void hr_gate_arm_at(int i, const char *point, int role)
{
	pthread_mutex_lock(&gm);
	gates[i] = (gate){ point, role, 0, 0, 0, 0 };
	pthread_mutex_unlock(&gm);
}

void hr_gate_fail_at(int i, const char *point, int role)
{
	pthread_mutex_lock(&gm);
	gates[i] = (gate){ point, role, 0, 0, 0, 1 };
	pthread_mutex_unlock(&gm);
}

void hr_gate_arm(const char *point, int role)
{
	hr_gate_arm_at(0, point, role);
}

void hr_gate_done(void)
{
	int i;

	pthread_mutex_lock(&gm);
	for (i = 0; i < HR_GATES; i++)
		if (gates[i].role == my_role)
			gates[i].done = 1;
	pthread_cond_broadcast(&gc);
	pthread_mutex_unlock(&gm);
}

int hr_gate_reached_at(int i)
{
	int r;

	pthread_mutex_lock(&gm);
	while (!gates[i].reached && !gates[i].done)
		pthread_cond_wait(&gc, &gm);
	r = gates[i].reached;
	pthread_mutex_unlock(&gm);
	return r;
}

int hr_gate_reached(void)
{
	return hr_gate_reached_at(0);
}

void hr_gate_open_at(int i)
{
	pthread_mutex_lock(&gm);
	gates[i].open = 1;
	gates[i].point = NULL;
	pthread_cond_broadcast(&gc);
	pthread_mutex_unlock(&gm);
}

void hr_gate_open(void)
{
	hr_gate_open_at(0);
}
