/* libpq, loaded on first open (core/dlib.h says why): the functions the
 * backend calls, through a table. Every PQxxx() call in this backend's
 * files goes through the macros below, unchanged in the source. */
#ifndef SB_PG_LIBPQ_H
#define SB_PG_LIBPQ_H

#include <libpq-fe.h>

/* clang-format off */
#define SB_PG_LIBPQ_FUNCS(X) \
	X(PQclear) \
	X(PQcmdTuples) \
	X(PQconndefaults) \
	X(PQconnectdbParams) \
	X(PQconnectionNeedsPassword) \
	X(PQconninfoFree) \
	X(PQconsumeInput) \
	X(PQerrorMessage) \
	X(PQexec) \
	X(PQexecParams) \
	X(PQfinish) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetlength) \
	X(PQgetvalue) \
	X(PQisBusy) \
	X(PQntuples) \
	X(PQparameterStatus) \
	X(PQputCopyData) \
	X(PQputCopyEnd) \
	X(PQreset) \
	X(PQresultErrorField) \
	X(PQresultStatus) \
	X(PQsendPrepare) \
	X(PQsendQueryPrepared) \
	X(PQsetNoticeProcessor) \
	X(PQsetSingleRowMode) \
	X(PQsocket) \
	X(PQstatus) \
	X(PQtransactionStatus)
/* clang-format on */

typedef struct {
#define SB_PG_LIBPQ_SLOT(f) __typeof__(f) *f##_fn;
	SB_PG_LIBPQ_FUNCS(SB_PG_LIBPQ_SLOT)
#undef SB_PG_LIBPQ_SLOT
} sb_pg_libpq_api;

extern sb_pg_libpq_api sb_pg_libpq;

/* Load libpq (once per process): SB_OK, or SB_ENOTSUPPORTED with a
 * message on @p box. Before any PQxxx() call. */
int sb_pg_libpq_load(sb_box *box);

#ifndef SB_PG_LIBPQ_IMPL
#define PQclear                   (*sb_pg_libpq.PQclear_fn)
#define PQcmdTuples               (*sb_pg_libpq.PQcmdTuples_fn)
#define PQconndefaults            (*sb_pg_libpq.PQconndefaults_fn)
#define PQconnectdbParams         (*sb_pg_libpq.PQconnectdbParams_fn)
#define PQconnectionNeedsPassword (*sb_pg_libpq.PQconnectionNeedsPassword_fn)
#define PQconninfoFree            (*sb_pg_libpq.PQconninfoFree_fn)
#define PQconsumeInput            (*sb_pg_libpq.PQconsumeInput_fn)
#define PQerrorMessage            (*sb_pg_libpq.PQerrorMessage_fn)
#define PQexec                    (*sb_pg_libpq.PQexec_fn)
#define PQexecParams              (*sb_pg_libpq.PQexecParams_fn)
#define PQfinish                  (*sb_pg_libpq.PQfinish_fn)
#define PQgetResult               (*sb_pg_libpq.PQgetResult_fn)
#define PQgetisnull               (*sb_pg_libpq.PQgetisnull_fn)
#define PQgetlength               (*sb_pg_libpq.PQgetlength_fn)
#define PQgetvalue                (*sb_pg_libpq.PQgetvalue_fn)
#define PQisBusy                  (*sb_pg_libpq.PQisBusy_fn)
#define PQntuples                 (*sb_pg_libpq.PQntuples_fn)
#define PQparameterStatus         (*sb_pg_libpq.PQparameterStatus_fn)
#define PQputCopyData             (*sb_pg_libpq.PQputCopyData_fn)
#define PQputCopyEnd              (*sb_pg_libpq.PQputCopyEnd_fn)
#define PQreset                   (*sb_pg_libpq.PQreset_fn)
#define PQresultErrorField        (*sb_pg_libpq.PQresultErrorField_fn)
#define PQresultStatus            (*sb_pg_libpq.PQresultStatus_fn)
#define PQsendPrepare             (*sb_pg_libpq.PQsendPrepare_fn)
#define PQsendQueryPrepared       (*sb_pg_libpq.PQsendQueryPrepared_fn)
#define PQsetNoticeProcessor      (*sb_pg_libpq.PQsetNoticeProcessor_fn)
#define PQsetSingleRowMode        (*sb_pg_libpq.PQsetSingleRowMode_fn)
#define PQsocket                  (*sb_pg_libpq.PQsocket_fn)
#define PQstatus                  (*sb_pg_libpq.PQstatus_fn)
#define PQtransactionStatus       (*sb_pg_libpq.PQtransactionStatus_fn)
#endif

#endif
